namespace Edge.Protocol;

/// <summary>
/// A telemetry PUBLISH parsed against edgeHub's inbound topic templates (docs/protocol.md "Topics and property bags"): the device, the module (null
/// for a device) and the property bag in wire order.
/// </summary>
public sealed record TelemetryTopic(string DeviceId, string? ModuleId, IReadOnlyList<KeyValuePair<string, string?>> Properties);

/// <summary>
/// IoT Hub's MQTT topic names as edgeHub speaks them (docs/protocol.md "Topics and property bags"; Microsoft's "Communicate with an IoT hub using
/// the MQTT protocol"; edgeHub's <c>Microsoft.Azure.Devices.Edge.Hub.Mqtt</c> templates): the twin and method filters, telemetry
/// parsing, and the mapping between the wire's system-property keys and edgeHub's internal names.
/// </summary>
public static class IoTHubTopics
{
    /// <summary>The subscription for twin responses.</summary>
    public const string TwinResponses = "$iothub/twin/res/#";

    /// <summary>The prefix of a twin response: <c>$iothub/twin/res/{status}/?$rid={rid}[&amp;$version={n}]</c>.</summary>
    public const string TwinResponsePrefix = "$iothub/twin/res/";

    /// <summary>The subscription for desired-property patches.</summary>
    public const string DesiredPatches = "$iothub/twin/PATCH/properties/desired/#";

    /// <summary>The prefix of a desired-property patch: <c>$iothub/twin/PATCH/properties/desired/?$version={n}</c>.</summary>
    public const string DesiredPatchPrefix = "$iothub/twin/PATCH/properties/desired/";

    /// <summary>The prefix of a twin GET request: <c>$iothub/twin/GET/?$rid={rid}</c>.</summary>
    public const string TwinGetPrefix = "$iothub/twin/GET/";

    /// <summary>The prefix of a reported-properties patch: <c>$iothub/twin/PATCH/properties/reported/?$rid={rid}</c>.</summary>
    public const string ReportedPatchPrefix = "$iothub/twin/PATCH/properties/reported/";

    /// <summary>The subscription for direct method requests.</summary>
    public const string Methods = "$iothub/methods/POST/#";

    /// <summary>The prefix of a direct method request: <c>$iothub/methods/POST/{name}/?$rid={rid}</c>.</summary>
    public const string MethodPrefix = "$iothub/methods/POST/";

    /// <summary>The prefix of a direct method response: <c>$iothub/methods/res/{status}/?$rid={rid}</c>.</summary>
    public const string MethodResponsePrefix = "$iothub/methods/res/";

    /// <summary>The topic a module input receives: <c>devices/{device}/modules/{module}/inputs/{input}/{bag}</c>.</summary>
    public static string ModuleInput(string deviceId, string moduleId, string input, string bag) =>
        $"devices/{deviceId}/modules/{moduleId}/inputs/{input}/{bag}";

    /// <summary>The subscription that carries a module's inputs (edgeHub: <c>^devices/.+/modules/.+/#$</c>).</summary>
    public static string ModuleMessages(string deviceId, string moduleId) => $"devices/{deviceId}/modules/{moduleId}/#";

    /// <summary>Wire key → edgeHub internal system-property name (edgeHub <c>Microsoft.Azure.Devices.Edge.Hub.Core/SystemProperties.cs</c>).</summary>
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

    /// <summary>Internal name → wire key for delivery to a module input (docs/protocol.md "Module inputs"). outputName and enqueued time are not forwarded.</summary>
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
