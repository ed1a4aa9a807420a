using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Edge.Protocol;

/// <summary>
/// Shared access signatures as IoT Hub and edgeHub use them (docs/protocol.md "SAS tokens";
/// Microsoft's "Control access to IoT Hub with shared access signatures"):
/// <c>SharedAccessSignature sr={resource}&amp;sig={signature}&amp;se={expiry}[&amp;skn={policy}]</c>.
/// </summary>
public sealed record SasToken(string Resource, string Signature, long ExpiresAtUnixSeconds, string? PolicyName)
{
    private const string Prefix = "SharedAccessSignature ";

    /// <summary>The audience of a module: <c>{host}/devices/{device}/modules/{module}</c>, ids escaped, then the whole escaped again.</summary>
    public static string ModuleResource(string hubHostName, string deviceId, string moduleId) =>
        WebUtility.UrlEncode($"{hubHostName}/devices/{WebUtility.UrlEncode(deviceId)}/modules/{WebUtility.UrlEncode(moduleId)}");

    /// <summary>The audience of a device: <c>{host}/devices/{device}</c>, escaped the same way.</summary>
    public static string DeviceResource(string hubHostName, string deviceId) =>
        WebUtility.UrlEncode($"{hubHostName}/devices/{WebUtility.UrlEncode(deviceId)}");

    /// <summary>The string that is signed: the encoded resource, a newline, the expiry.</summary>
    public static string StringToSign(string encodedResource, long expiresAtUnixSeconds) =>
        encodedResource + "\n" + expiresAtUnixSeconds.ToString(CultureInfo.InvariantCulture);

    /// <summary>Base64(HMAC-SHA256(Base64Decode(key), UTF-8 data)).</summary>
    public static string Sign(string base64Key, string data)
    {
        var key = Convert.FromBase64String(base64Key);
        return Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data)));
    }

    /// <summary>Creates a token for an already encoded resource, signed with a symmetric key.</summary>
    public static SasToken Create(string encodedResource, string base64Key, DateTimeOffset expiresAt, string? policyName = null)
    {
        var se = expiresAt.ToUnixTimeSeconds();
        return new SasToken(encodedResource, Sign(base64Key, StringToSign(encodedResource, se)), se, policyName);
    }

    /// <summary>The wire form; the signature is URL-encoded here, field order sr, sig, se, skn as the SDK writes it.</summary>
    public override string ToString()
    {
        var s = $"{Prefix}sr={Resource}&sig={WebUtility.UrlEncode(Signature)}&se={ExpiresAtUnixSeconds.ToString(CultureInfo.InvariantCulture)}";
        return PolicyName is null ? s : s + "&skn=" + WebUtility.UrlEncode(PolicyName);
    }

    /// <summary>Parses the wire form. <see cref="Resource"/> keeps its escaping exactly as sent, because that is what was signed.</summary>
    public static bool TryParse(string? value, out SasToken? token, out string? error)
    {
        token = null;
        error = null;
        if (value is null || !value.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = "not a SharedAccessSignature";
            return false;
        }

        string? sr = null, sig = null, se = null, skn = null;
        foreach (var part in value[Prefix.Length..].Split('&'))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                error = $"malformed field '{part}'";
                return false;
            }

            var v = part[(eq + 1)..];
            switch (part[..eq])
            {
                case "sr": sr = v; break;
                case "sig": sig = WebUtility.UrlDecode(v); break;
                case "se": se = v; break;
                case "skn": skn = WebUtility.UrlDecode(v); break;
                default: break;
            }
        }

        if (string.IsNullOrEmpty(sr) || string.IsNullOrEmpty(sig) || string.IsNullOrEmpty(se))
        {
            error = "missing sr, sig or se";
            return false;
        }

        if (!long.TryParse(se, NumberStyles.None, CultureInfo.InvariantCulture, out var expiry))
        {
            error = "se is not a number";
            return false;
        }

        token = new SasToken(sr, sig, expiry, skn);
        return true;
    }

    /// <summary>True when the signature matches the key (constant-time comparison).</summary>
    public bool IsSignedWith(string base64Key)
    {
        var expected = Encoding.ASCII.GetBytes(Sign(base64Key, StringToSign(Resource, ExpiresAtUnixSeconds)));
        var actual = Encoding.ASCII.GetBytes(Signature);
        return CryptographicOperations.FixedTimeEquals(expected, actual);
    }

    /// <summary>The resource, unescaped once: <c>{host}/devices/{device}[/modules/{module}]</c> with ids still escaped.</summary>
    public string DecodedResource => WebUtility.UrlDecode(Resource);
}
