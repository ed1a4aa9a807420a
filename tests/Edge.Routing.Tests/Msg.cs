using System.Text;

namespace Edge.Routing.Tests;

/// <summary>Builds routing messages for tests.</summary>
internal static class Msg
{
    /// <summary>A message (default source: camera output frames); application properties as "k=v", system properties as "sys:k=v".</summary>
    public static RoutingMessage Create(string? body = null, string? source = null, params string[] props)
    {
        var app = new Dictionary<string, string>();
        var sys = new Dictionary<string, string>();
        foreach (var p in props)
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            var (k, v) = (p[..eq], p[(eq + 1)..]);
            if (k.StartsWith("sys:", StringComparison.Ordinal))
            {
                sys[k[4..]] = v;
            }
            else
            {
                app[k] = v;
            }
        }

        return new RoutingMessage(source ?? "/messages/modules/camera/outputs/frames", Encoding.UTF8.GetBytes(body ?? string.Empty), app, sys);
    }

    /// <summary>A JSON message (contentType application/json, contentEncoding utf-8).</summary>
    public static RoutingMessage Json(string body, params string[] props) =>
        Create(body, null, [.. props, "sys:contentType=application/json", "sys:contentEncoding=utf-8"]);
}
