using System.Net;
using Edge.Protocol;

namespace Edge.Hub.Security;

/// <summary>The identity a client authenticated as: a device (<see cref="ModuleId"/> null) or a module of that device.</summary>
internal readonly record struct ClientIdentity(string DeviceId, string? ModuleId)
{
    /// <summary>The MQTT client id edgeHub requires: <c>{device}</c> or <c>{device}/{module}</c>.</summary>
    public string ClientId => ModuleId is null ? DeviceId : $"{DeviceId}/{ModuleId}";
}

/// <summary>
/// Checks a CONNECT as edgeHub does (docs/protocol.md "Connecting (what the hub checks)"; edgeHub <c>DeviceIdentityProvider</c>): username with api-version, clientId equal to the
/// identity, SAS token audience (host = hub or gateway host, ids = the identity), expiry (5 min skew) and signature with the identity's key.
/// </summary>
internal sealed class ConnectAuthenticator(SimulatorOptions options, IdentityStore identities, TimeProvider time)
{
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    public bool TryAuthenticate(string clientId, string? username, string? password, out ClientIdentity identity, out string reason)
    {
        identity = default;
        if (!TryParseUsername(username, out var user, out reason))
        {
            return false;
        }

        if (!string.Equals(clientId, user.ClientId, StringComparison.Ordinal))
        {
            reason = "client-id-mismatch";
            return false;
        }

        if (!string.Equals(user.DeviceId, options.DeviceId, StringComparison.Ordinal))
        {
            reason = "unknown-identity";
            return false;
        }

        string key;
        if (user.ModuleId is null)
        {
            key = identities.DeviceKey;
        }
        else if (!identities.TryGetModuleKey(user.ModuleId, out key))
        {
            reason = "unknown-identity";
            return false;
        }

        if (!SasToken.TryParse(password, out var token, out _) || token!.PolicyName is not null)
        {
            reason = "bad-token";
            return false;
        }

        if (!AudienceMatches(token.DecodedResource, user))
        {
            reason = "wrong-audience";
            return false;
        }

        if (IsExpired(token))
        {
            reason = "expired-token";
            return false;
        }

        if (!token.IsSignedWith(key))
        {
            reason = "bad-signature";
            return false;
        }

        identity = user;
        reason = "";
        return true;
    }

    /// <summary>Checks a hub-level (service) token for the cloud-side API: <c>sr</c> = hub host, <c>skn</c> = iothubowner.</summary>
    public bool TryAuthenticateService(string? authorization, out string reason)
    {
        if (!SasToken.TryParse(authorization, out var token, out var error))
        {
            reason = $"malformed SharedAccessSignature: {error}";
            return false;
        }

        if (token!.PolicyName is null)
        {
            reason = "skn (policy name) is required";
            return false;
        }

        if (!string.Equals(token.PolicyName, IdentityStore.PolicyName, StringComparison.Ordinal))
        {
            reason = $"unknown policy '{token.PolicyName}'";
            return false;
        }

        var resource = token.DecodedResource.TrimEnd('/');
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? resource : resource[..slash];
        if (!string.Equals(host, options.HubHostName, StringComparison.OrdinalIgnoreCase))
        {
            reason = $"audience '{token.DecodedResource}' is not this hub";
            return false;
        }

        if (IsExpired(token))
        {
            reason = "token expired";
            return false;
        }

        if (!token.IsSignedWith(identities.PolicyKey))
        {
            reason = "signature does not match";
            return false;
        }

        reason = "";
        return true;
    }

    private bool IsExpired(SasToken token) =>
        DateTimeOffset.FromUnixTimeSeconds(token.ExpiresAtUnixSeconds) + ClockSkew < time.GetUtcNow();

    /// <summary>Parses <c>{host}/{device}[/{module}]/?api-version=...</c>; edgeHub ignores the host and requires api-version.</summary>
    internal static bool TryParseUsername(string? username, out ClientIdentity identity, out string reason)
    {
        identity = default;
        reason = "bad-username";
        if (string.IsNullOrEmpty(username))
        {
            return false;
        }

        string path;
        string query;
        var q = username.IndexOf('?', StringComparison.Ordinal);
        if (q >= 0)
        {
            path = username[..q];
            query = username[(q + 1)..];
        }
        else
        {
            // edgeHub tolerates a username without '?' when the last segment carries api-version=.
            var last = username.LastIndexOf('/');
            if (last < 0 || !username[(last + 1)..].Contains("api-version=", StringComparison.Ordinal))
            {
                reason = "missing-api-version";
                return false;
            }

            path = username[..last];
            query = username[(last + 1)..];
        }

        var apiVersion = query.Split('&')
            .Select(p => p.Split('=', 2))
            .FirstOrDefault(p => p[0] == "api-version");
        if (apiVersion is null || apiVersion.Length < 2 || apiVersion[1].Length == 0)
        {
            reason = "missing-api-version";
            return false;
        }

        var segments = path.TrimEnd('/').Split('/');
        if (segments.Length is < 2 or > 3 || segments.Skip(1).Any(s => s.Length == 0))
        {
            return false;
        }

        identity = new ClientIdentity(segments[1], segments.Length == 3 ? segments[2] : null);
        reason = "";
        return true;
    }

    private bool AudienceMatches(string decodedResource, ClientIdentity identity)
    {
        var parts = decodedResource.Split('/');
        var hostOk = parts.Length > 0 &&
            (string.Equals(parts[0], options.HubHostName, StringComparison.OrdinalIgnoreCase) ||
             string.Equals(parts[0], options.GatewayHostName, StringComparison.OrdinalIgnoreCase));
        if (!hostOk || parts.Length < 3 || parts[1] != "devices" ||
            !string.Equals(WebUtility.UrlDecode(parts[2]), identity.DeviceId, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (identity.ModuleId is null)
        {
            return parts.Length == 3;
        }

        return parts.Length == 5 && parts[3] == "modules" &&
            string.Equals(WebUtility.UrlDecode(parts[4]), identity.ModuleId, StringComparison.OrdinalIgnoreCase);
    }
}
