using System.Text;
using Edge.Protocol;

namespace Edge.Runtime.Auth;

/// <summary>Issues the SAS token used as the MQTT password (docs/protocol.md, "SAS tokens" and "Workload API").</summary>
internal interface ISasTokenSource
{
    ValueTask<SasToken> GetTokenAsync(DateTimeOffset expiresAt, CancellationToken ct);
}

/// <summary>Signs locally with the module key from a connection string.</summary>
internal sealed class SharedKeyTokenSource(string hubHost, string deviceId, string moduleId, string base64Key) : ISasTokenSource
{
    private readonly string _resource = SasToken.ModuleResource(hubHost, deviceId, moduleId);

    public ValueTask<SasToken> GetTokenAsync(DateTimeOffset expiresAt, CancellationToken ct) =>
        ValueTask.FromResult(SasToken.Create(_resource, base64Key, expiresAt));
}

/// <summary>Has the IoT Edge workload API sign the token (the module key never leaves the security daemon).</summary>
internal sealed class WorkloadTokenSource(WorkloadClient workload, string hubHost, string deviceId, string moduleId) : ISasTokenSource
{
    private readonly string _resource = SasToken.ModuleResource(hubHost, deviceId, moduleId);

    public async ValueTask<SasToken> GetTokenAsync(DateTimeOffset expiresAt, CancellationToken ct)
    {
        var se = expiresAt.ToUnixTimeSeconds();
        var digest = await workload.SignAsync(Encoding.UTF8.GetBytes(SasToken.StringToSign(_resource, se)), ct).ConfigureAwait(false);
        return new SasToken(_resource, digest, se, null);
    }
}
