using System.Text.Json.Nodes;

namespace Edge.Protocol;

/// <summary>
/// JSON merge patch (RFC 7396) as twins use it: objects merge recursively, <c>null</c> deletes, any other value replaces.
/// Twin documents are protocol: the hub applies desired and reported patches with it, the module runtime binds desired
/// settings with it (docs/protocol.md "Twins").
/// </summary>
public static class JsonMergePatch
{
    /// <summary>Applies <paramref name="patch"/> to <paramref name="target"/> in place (values are deep-copied).</summary>
    /// <param name="target">The document to change.</param>
    /// <param name="patch">The patch.</param>
    /// <param name="skipMetadata">
    /// Ignore keys that start with <c>$</c> at every level (<c>$version</c>, <c>$metadata</c>: twin property names cannot start
    /// with <c>$</c>, so such keys in a patch are metadata, never properties).
    /// </param>
    public static void Apply(JsonObject target, JsonObject patch, bool skipMetadata = false)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(patch);
        foreach (var (key, value) in patch)
        {
            if (skipMetadata && key.StartsWith('$'))
            {
                continue;
            }

            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject po && target[key] is JsonObject to)
            {
                Apply(to, po, skipMetadata);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }
}
