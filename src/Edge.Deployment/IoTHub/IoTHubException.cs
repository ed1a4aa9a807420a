using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Edge.Deployment.IoTHub;

/// <summary>
/// A non-success answer from the IoT Hub service API, with the hub's error code (the <c>iothub-errorcode</c> header or the
/// <c>errorCode</c> in the body) and its message, secrets redacted.
/// </summary>
public sealed partial class IoTHubException : Exception
{
    public IoTHubException(HttpStatusCode statusCode, string? errorCode, string hubMessage, string? trackingId)
        : base(Render(statusCode, errorCode, hubMessage, trackingId))
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
        HubMessage = hubMessage;
        TrackingId = trackingId;
    }

    public IoTHubException()
        : this(HttpStatusCode.InternalServerError, null, "unknown error", null)
    {
    }

    public IoTHubException(string message)
        : this(HttpStatusCode.InternalServerError, null, message, null)
    {
    }

    public IoTHubException(string message, Exception innerException)
        : base(message, innerException)
    {
        HubMessage = message;
    }

    public HttpStatusCode StatusCode { get; }

    /// <summary>The hub's error code: a number such as <c>404001</c> or a name such as <c>DeviceNotFound</c>.</summary>
    public string? ErrorCode { get; }

    public string HubMessage { get; } = "";

    public string? TrackingId { get; }

    /// <summary>Reads the error out of a response: header <c>iothub-errorcode</c>, body <c>errorCode</c>/<c>Message</c> (which may itself be JSON or "ErrorCode:X;text").</summary>
    public static IoTHubException FromResponse(HttpStatusCode status, IEnumerable<KeyValuePair<string, IEnumerable<string>>> headers, string body)
    {
        string? code = headers.FirstOrDefault(h => h.Key.Equals("iothub-errorcode", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        string? tracking = null;
        var message = body.Trim();
        try
        {
            using var doc = JsonDocument.Parse(body);
            Read(doc.RootElement, ref code, ref message, ref tracking);
        }
        catch (JsonException)
        {
        }

        var m = ErrorCodePrefixRegex().Match(message);
        if (m.Success)
        {
            code ??= m.Groups[1].Value;
            message = message[m.Length..].Trim();
        }

        return new IoTHubException(status, code, message.Length == 0 ? status.ToString() : message, tracking);
    }

    /// <summary>Removes signatures and keys from text shown to a user.</summary>
    public static string Redact(string text) => SecretRegex().Replace(text, m => m.Groups[1].Value + "***");

    private static void Read(JsonElement e, ref string? code, ref string message, ref string? tracking)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var p in e.EnumerateObject())
        {
            if (p.Name.Equals("errorCode", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String)
            {
                code = p.Value.ToString();
            }
            else if (p.Name.Equals("trackingId", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String)
            {
                tracking = p.Value.GetString();
            }
            else if (p.Name.Equals("message", StringComparison.OrdinalIgnoreCase) && p.Value.ValueKind == JsonValueKind.String)
            {
                message = p.Value.GetString() ?? "";
                if (message.TrimStart().StartsWith('{'))
                {
                    try
                    {
                        using var inner = JsonDocument.Parse(message);
                        Read(inner.RootElement, ref code, ref message, ref tracking);
                    }
                    catch (JsonException)
                    {
                    }
                }
            }
        }
    }

    private static string Render(HttpStatusCode status, string? code, string message, string? tracking)
    {
        var text = $"IoT Hub answered {(int)status} {status}";
        if (code is not null)
        {
            text += $" (error {code})";
        }

        text += ": " + Redact(message);
        if (tracking is not null)
        {
            text += $" [tracking id {tracking}]";
        }

        return text;
    }

    [GeneratedRegex(@"^ErrorCode:\s*([A-Za-z0-9]+);?")]
    private static partial Regex ErrorCodePrefixRegex();

    [GeneratedRegex(@"((?:sig=|SharedAccessKey=|SharedAccessSignature\s+sr=[^&\s]*&sig=)\s*)[^&;\s""]+", RegexOptions.IgnoreCase)]
    private static partial Regex SecretRegex();
}
