using System.Text;

namespace Edge.Protocol;

/// <summary>
/// The property bag that IoT Hub and edgeHub carry in the last topic segment: <c>k1=v1&amp;k2=v2</c>,
/// keys and values escaped with <see cref="Uri.EscapeDataString(string)"/> (docs/protocol.md "Property bags"; Microsoft's
/// "Communicate with an IoT hub using the MQTT protocol", "Sending device-to-cloud messages").
/// </summary>
public static class PropertyBag
{
    /// <summary>Encodes pairs in the given order. A <c>null</c> value is written as the bare key.</summary>
    public static string Encode(IEnumerable<KeyValuePair<string, string?>> properties)
    {
        var sb = new StringBuilder();
        foreach (var (key, value) in properties)
        {
            if (sb.Length > 0)
            {
                sb.Append('&');
            }

            sb.Append(Uri.EscapeDataString(key));
            if (value is not null)
            {
                sb.Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// Decodes a bag segment. A key without <c>=</c> maps to <c>null</c>; <c>key=</c> maps to an empty string.
    /// Returns false (and no pairs) on a malformed bag: an empty key, or a second <c>=</c> in one pair.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> bag, out List<KeyValuePair<string, string?>> properties)
    {
        properties = [];
        if (bag.IsEmpty)
        {
            return true;
        }

        foreach (var range in bag.Split('&'))
        {
            var pair = bag[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            var eq = pair.IndexOf('=');
            string key;
            string? value = null;
            if (eq < 0)
            {
                key = Unescape(pair);
            }
            else
            {
                var rawValue = pair[(eq + 1)..];
                if (eq == 0 || rawValue.Contains('='))
                {
                    properties = [];
                    return false;
                }

                key = Unescape(pair[..eq]);
                value = Unescape(rawValue);
            }

            properties.Add(new(key, value));
        }

        return true;
    }

    private static string Unescape(ReadOnlySpan<char> s) => Uri.UnescapeDataString(s.ToString());
}
