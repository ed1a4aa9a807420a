using Edge.Runtime.Protocol;

namespace Edge.Hub.Broker;

/// <summary>A telemetry PUBLISH parsed against edgeHub's inbound templates (iothub-protocol.md §7).</summary>
internal sealed record TelemetryTopic(string DeviceId, string? ModuleId, List<KeyValuePair<string, string?>> Properties);

/// <summary>Topic parsing and the property-name mapping between the wire (§6.3) and edgeHub's internal names.</summary>
internal static class TopicParser
{
    /// <summary>Wire key → edgeHub internal system-property name (SystemProperties.cs).</summary>
    public static readonly IReadOnlyDictionary<string, string> WireToSystem = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["$.mid"] = "messageId",
        ["$.cid"] = "cid",
        ["$.uid"] = "userId",
        ["$.to"] = "to",
        ["$.exp"] = "absolute-expiry-time",
        ["$.ctime"] = "creationTime",
        ["$.ct"] = "contentType",
        ["$.ce"] = "contentEncoding",
        ["$.schema"] = "messageSchema",
        ["$.on"] = "outputName",
        ["$.ifid"] = "interfaceId",
        ["$.sub"] = "dt-subject",
        ["$.diagid"] = "diag-id",
        ["$.diagctx"] = "diag-correlation-context",
        ["iothub-operation"] = "operation",
        ["ack"] = "ack",
    };

    /// <summary>Internal name → wire key for delivery to a module input (§8). outputName and enqueued time are not forwarded.</summary>
    public static readonly IReadOnlyDictionary<string, string> SystemToWire = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["messageId"] = "$.mid",
        ["cid"] = "$.cid",
        ["userId"] = "$.uid",
        ["to"] = "$.to",
        ["absolute-expiry-time"] = "$.exp",
        ["creationTime"] = "$.ctime",
        ["contentType"] = "$.ct",
        ["contentEncoding"] = "$.ce",
        ["messageSchema"] = "$.schema",
        ["connectionDeviceId"] = "$.cdid",
        ["connectionModuleId"] = "$.cmid",
        ["interfaceId"] = "$.ifid",
        ["dt-subject"] = "$.sub",
        ["operation"] = "iothub-operation",
        ["ack"] = "ack",
    };

    /// <summary>
    /// Matches <c>devices/{d}/messages/events[/{bag}][/]</c> or <c>devices/{d}/modules/{m}/messages/events[/{bag}][/]</c>.
    /// Returns false for anything else (including a malformed bag, reported through <paramref name="badBag"/>).
    /// </summary>
    public static bool TryParseTelemetry(string topic, out TelemetryTopic? parsed, out bool badBag)
    {
        parsed = null;
        badBag = false;
        var s = topic.Split('/');
        if (s.Length < 4 || s[0] != "devices" || s[1].Length == 0)
        {
            return false;
        }

        int eventsAt;
        string? module = null;
        if (s[2] == "modules")
        {
            if (s.Length < 6 || s[3].Length == 0 || s[4] != "messages" || s[5] != "events")
            {
                return false;
            }

            module = s[3];
            eventsAt = 5;
        }
        else if (s[2] == "messages" && s[3] == "events")
        {
            eventsAt = 3;
        }
        else
        {
            return false;
        }

        var rest = s.AsSpan(eventsAt + 1);
        string bag;
        switch (rest.Length)
        {
            case 0: bag = ""; break;
            case 1: bag = rest[0]; break;
            case 2 when rest[1].Length == 0: bag = rest[0]; break;
            default: return false;
        }

        if (!PropertyBag.TryDecode(bag, out var props))
        {
            badBag = true;
            return false;
        }

        parsed = new TelemetryTopic(s[1], module, props);
        return true;
    }

    /// <summary>Reads <c>$rid</c> (and optional <c>$version</c>) from the query of a twin/method topic such as <c>.../?$rid=42</c>.</summary>
    public static string? QueryValue(string topic, string key)
    {
        var q = topic.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return null;
        }

        foreach (var pair in topic[(q + 1)..].Split('&'))
        {
            var kv = pair.Split('=', 2);
            if (kv.Length == 2 && kv[0] == key)
            {
                return Uri.UnescapeDataString(kv[1]);
            }
        }

        return null;
    }
}
