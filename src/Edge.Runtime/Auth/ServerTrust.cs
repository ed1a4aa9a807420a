using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Runtime.Auth;

/// <summary>The roots edgeHub's server certificate must chain to.</summary>
internal interface ITrustSource
{
    /// <summary>Custom roots, or null to use the system store (direct IoT Hub).</summary>
    ValueTask<X509Certificate2Collection?> GetRootsAsync(CancellationToken ct);
}

internal sealed class SystemTrustSource : ITrustSource
{
    public ValueTask<X509Certificate2Collection?> GetRootsAsync(CancellationToken ct) => ValueTask.FromResult<X509Certificate2Collection?>(null);
}

/// <summary><c>EdgeModuleCACertificateFile</c>: a PEM file with one or more roots.</summary>
internal sealed class PemFileTrustSource(string path) : ITrustSource
{
    public async ValueTask<X509Certificate2Collection?> GetRootsAsync(CancellationToken ct)
    {
        var pem = await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
        return ServerCertificateValidator.ParsePem(pem, path);
    }
}

/// <summary>The workload API trust bundle (docs/protocol.md, "Workload API"), fetched once per process and cached.</summary>
internal sealed class WorkloadTrustSource(WorkloadClient workload) : ITrustSource
{
    private X509Certificate2Collection? _roots;

    public async ValueTask<X509Certificate2Collection?> GetRootsAsync(CancellationToken ct) =>
        _roots ??= ServerCertificateValidator.ParsePem(await workload.GetTrustBundleAsync(ct).ConfigureAwait(false), "workload trust bundle");
}

/// <summary>
/// Validates edgeHub's server certificate: chain to the custom roots only (<see cref="X509ChainTrustMode.CustomRootTrust"/>)
/// and the host name against the certificate's SANs (by <see cref="SslPolicyErrors.RemoteCertificateNameMismatch"/>).
/// </summary>
internal static class ServerCertificateValidator
{
    public static X509Certificate2Collection ParsePem(string pem, string origin)
    {
        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidOperationException($"{origin}: not a PEM certificate bundle ({ex.Message})", ex);
        }

        return roots.Count > 0 ? roots : throw new InvalidOperationException($"{origin}: no certificate in the PEM text");
    }

    /// <summary>Returns null when valid, else a reason a user can act on.</summary>
    public static string? Validate(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection? customRoots)
    {
        if (certificate is null)
        {
            return "the server sent no certificate";
        }

        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return $"the server certificate '{certificate.Subject}' does not name the host we connected to (check GatewayHostName / IOTEDGE_GATEWAYHOSTNAME against its SANs)";
        }

        if (customRoots is null)
        {
            return errors == SslPolicyErrors.None ? null : $"the server certificate '{certificate.Subject}' is not trusted by the system store: {errors}";
        }

        using var leaf = certificate as X509Certificate2 is { } c2 ? X509CertificateLoader.LoadCertificate(c2.RawData) : X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(customRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        if (chain.Build(leaf))
        {
            return null;
        }

        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        return $"the server certificate '{leaf.Subject}' (issuer '{leaf.Issuer}') does not chain to the configured edge CA: {status}";
    }
}
