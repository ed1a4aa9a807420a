namespace Edge.Deployment.IoTHub;

/// <summary>An access token and when it expires, as an identity provider issued it.</summary>
public readonly record struct IoTHubAccessToken(string Token, DateTimeOffset ExpiresOn);

/// <summary>
/// Microsoft Entra ID authorization of the IoT Hub service API (for hubs with local/SAS authentication disabled): the
/// <c>Authorization: Bearer …</c> value for the IoT Hub scope, from a token source (the CLI passes Azure.Identity's
/// <c>DefaultAzureCredential</c>; this library does not depend on it). The token is reused until
/// <see cref="RefreshMargin"/> before it expires; one refresh at a time.
/// </summary>
public sealed class BearerTokenAuthorization
{
    /// <summary>The scope of the IoT Hub data plane.</summary>
    public const string Scope = "https://iothubs.azure.net/.default";

    /// <summary>A token this close to expiry is renewed before use.</summary>
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly Func<string[], CancellationToken, ValueTask<IoTHubAccessToken>> _tokenSource;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _refresh = new(1, 1); // never waited on by handle, so nothing to dispose
    private IoTHubAccessToken? _current;

    /// <param name="tokenSource">Gets a token for the scopes given (always <see cref="Scope"/>).</param>
    /// <param name="timeProvider">The clock that decides when a token is due for renewal.</param>
    public BearerTokenAuthorization(Func<string[], CancellationToken, ValueTask<IoTHubAccessToken>> tokenSource, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(tokenSource);
        _tokenSource = tokenSource;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The header value, <c>Bearer {token}</c>.</summary>
    public async ValueTask<string> GetAuthorizationAsync(CancellationToken ct)
    {
        if (Fresh(_current) is { } cached)
        {
            return "Bearer " + cached.Token;
        }

        await _refresh.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (Fresh(_current) is not { } token)
            {
                token = await _tokenSource([Scope], ct).ConfigureAwait(false);
                if (string.IsNullOrEmpty(token.Token))
                {
                    throw new IoTHubException(System.Net.HttpStatusCode.Unauthorized, null, "Microsoft Entra ID returned an empty token for the IoT Hub scope; sign in with 'az login' or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET", null);
                }

                _current = token;
            }

            return "Bearer " + token.Token;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private IoTHubAccessToken? Fresh(IoTHubAccessToken? token) =>
        token is { } t && t.ExpiresOn - RefreshMargin > _time.GetUtcNow() ? t : null;
}
