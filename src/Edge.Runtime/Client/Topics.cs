using System.Globalization;
using Edge.Protocol;

namespace Edge.Runtime.Client;

/// <summary>The module side of IoT Hub's topics and property bags (docs/protocol.md; the names are <see cref="IoTHubTopics"/>'s).</summary>
internal static class Topics
{
    public const string ApiVersion = "2020-09-30";
    public const string TwinResponses = IoTHubTopics.TwinResponses;
    public const string TwinResponsePrefix = IoTHubTopics.TwinResponsePrefix;
    public const string DesiredPatches = IoTHubTopics.DesiredPatches;
    public const string DesiredPatchPrefix = IoTHubTopics.DesiredPatchPrefix;
    public const string Methods = IoTHubTopics.Methods;
    public const string MethodPrefix = IoTHubTopics.MethodPrefix;

    /// <summary>Largest message edgeHub routes: body plus every property key and value, 256 KB, less 2 KB for the properties edgeHub adds.</summary>
    public const int MaxMessageSize = (256 * 1024) - 2048;

    public static string Username(string gateway, ModuleIdentity id, string clientType) =>
        $"{gateway}/{id.DeviceId}/{id.ModuleId}/?api-version={ApiVersion}&DeviceClientType={Uri.EscapeDataString(clientType)}";

    public static string Inputs(ModuleIdentity id) => $"devices/{id.DeviceId}/modules/{id.ModuleId}/#";

    public static string InputPrefix(ModuleIdentity id) => $"devices/{id.DeviceId}/modules/{id.ModuleId}/inputs/";

    public static string EventsPrefix(ModuleIdentity id) => $"devices/{id.DeviceId}/modules/{id.ModuleId}/messages/events/";

    public static string TwinGet(string rid) => $"$iothub/twin/GET/?$rid={rid}";

    public static string ReportedPatch(string rid) => $"$iothub/twin/PATCH/properties/reported/?$rid={rid}";

    public static string MethodResponse(int status, string rid) => $"$iothub/methods/res/{status.ToString(CultureInfo.InvariantCulture)}/?$rid={rid}";

    /// <summary>The output bag: <c>$.on</c>, <c>$.ct</c>, <c>$.ce</c>, <c>$.mid</c>, <c>$.cid</c>, <c>$.ctime</c>, then application properties.</summary>
    public static string OutputBag(string output, EdgeMessage m, string messageId)
    {
        var pairs = new List<KeyValuePair<string, string?>>(6 + m.Properties.Count) { new("$.on", output) };
        if (m.ContentType is not null)
        {
            pairs.Add(new("$.ct", m.ContentType));
        }

        if (m.ContentEncoding is not null)
        {
            pairs.Add(new("$.ce", m.ContentEncoding));
        }

        pairs.Add(new("$.mid", messageId));
        if (m.CorrelationId is not null)
        {
            pairs.Add(new("$.cid", m.CorrelationId));
        }

        if (m.CreationTime is { } t)
        {
            pairs.Add(new("$.ctime", t.UtcDateTime.ToString("o", CultureInfo.InvariantCulture)));
        }

        foreach (var (k, v) in m.Properties)
        {
            pairs.Add(new(k, v));
        }

        return PropertyBag.Encode(pairs);
    }

    /// <summary>Parses <c>{prefix}{input}/{bag}</c> into an input message.</summary>
    public static bool TryParseInput(string topic, string prefix, ReadOnlyMemory<byte> body, out InputMessageArguments args)
    {
        args = default;
        var rest = topic.AsSpan(prefix.Length);
        var slash = rest.IndexOf('/');
        var input = slash < 0 ? rest : rest[..slash];
        if (input.IsEmpty)
        {
            return false;
        }

        var bag = slash < 0 ? [] : rest[(slash + 1)..];
        if (bag.EndsWith("/"))
        {
            bag = bag[..^1];
        }

        if (!PropertyBag.TryDecode(bag, out var pairs))
        {
            return false;
        }

        var system = new Dictionary<string, string>(StringComparer.Ordinal);
        var app = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
        {
            var isSystem = k.StartsWith("$.", StringComparison.Ordinal) || k is "iothub-operation" or "ack" or "mqtt-retain" or "mqtt-dup";
            (isSystem ? system : app)[k] = v ?? "";
        }

        DateTimeOffset? ctime = system.TryGetValue("$.ctime", out var ct) && DateTimeOffset.TryParse(ct, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed) ? parsed : null;
        args = new InputMessageArguments(input.ToString(), new EdgeMessage
        {
            Body = body,
            ContentType = system.GetValueOrDefault("$.ct"),
            ContentEncoding = system.GetValueOrDefault("$.ce"),
            MessageId = system.GetValueOrDefault("$.mid"),
            CorrelationId = system.GetValueOrDefault("$.cid"),
            CreationTime = ctime,
            Properties = app,
            SystemProperties = system,
        });
        return true;
    }

    /// <summary>Parses <c>{prefix}{status}/?$rid={rid}[&amp;$version=n]</c>.</summary>
    public static bool TryParseTwinResponse(string topic, out int status, out string rid, out long? version)
    {
        status = 0;
        rid = "";
        version = null;
        var rest = topic.AsSpan(TwinResponsePrefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0 || !int.TryParse(rest[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out status))
        {
            return false;
        }

        var query = rest[(slash + 1)..].TrimStart('?');
        if (!PropertyBag.TryDecode(query, out var pairs))
        {
            return false;
        }

        foreach (var (k, v) in pairs)
        {
            if (k == "$rid")
            {
                rid = v ?? "";
            }
            else if (k == "$version" && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var ver))
            {
                version = ver;
            }
        }

        return rid.Length > 0;
    }

    /// <summary>Parses <c>$iothub/methods/POST/{name}/?$rid={rid}</c>.</summary>
    public static bool TryParseMethod(string topic, out string name, out string rid)
    {
        name = "";
        rid = "";
        var rest = topic.AsSpan(MethodPrefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return false;
        }

        name = rest[..slash].ToString();
        var query = rest[(slash + 1)..];
        const string RidPrefix = "?$rid=";
        if (!query.StartsWith(RidPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        rid = query[RidPrefix.Length..].ToString();
        return rid.Length > 0;
    }

    /// <summary>Parses <c>$version</c> out of a desired-patch topic, if present.</summary>
    public static long? DesiredPatchVersion(string topic)
    {
        var q = topic.AsSpan(DesiredPatchPrefix.Length).TrimStart('?');
        return PropertyBag.TryDecode(q, out var pairs)
            && pairs.FirstOrDefault(p => p.Key == "$version").Value is { } v
            && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
    }
}
