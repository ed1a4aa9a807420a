using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Edge.Hub.Security;

/// <summary>
/// The simulator's local CA and the hub's TLS server certificate (SAN localhost, 127.0.0.1, edgeHub and the gateway host name),
/// created on first run in the state directory and reused afterwards. PEM files so tools (mosquitto, curl, modules) can use them.
/// </summary>
/// <remarks>
/// Each CA has a subject of its own (<c>CN=Edge Simulator Local CA {random id}</c>) and every certificate carries Subject and
/// Authority Key Identifiers: a client that has trusted the CA of an earlier state directory for good (the Azure IoT device SDK
/// installs <c>EdgeModuleCACertificateFile</c> into the user's root store on Linux) still builds the chain to this one. A CA made
/// before that (the shared subject <c>CN=Edge Simulator Local CA</c>) is replaced, with a new server certificate, on start.
/// </remarks>
internal sealed class CertificateAuthority
{
    private CertificateAuthority(string caPath, string serverCertPath, string serverKeyPath, X509Certificate2 server)
    {
        CaCertificatePath = caPath;
        ServerCertificatePath = serverCertPath;
        ServerKeyPath = serverKeyPath;
        ServerCertificate = server;
    }

    /// <summary>PEM of the CA (what modules trust: EdgeModuleCACertificateFile / trust bundle).</summary>
    public string CaCertificatePath { get; }

    public string ServerCertificatePath { get; }

    public string ServerKeyPath { get; }

    /// <summary>The server certificate with its private key, ready for SslStream.</summary>
    public X509Certificate2 ServerCertificate { get; }

    public static CertificateAuthority LoadOrCreate(string directory, string gatewayHostName, TimeProvider time, out bool created)
    {
        var dir = Path.Combine(directory, "certs");
        Directory.CreateDirectory(dir);
        var caPath = Path.Combine(dir, "ca.pem");
        var caKeyPath = Path.Combine(dir, "ca.key.pem");
        var certPath = Path.Combine(dir, "server.pem");
        var keyPath = Path.Combine(dir, "server.key.pem");
        var namesPath = Path.Combine(dir, "server.names");
        var names = string.Join(",", SubjectNames(gatewayHostName));

        created = false;
        if (!File.Exists(caPath) || !File.Exists(caKeyPath) || IsLegacyCa(caPath))
        {
            CreateCa(caPath, caKeyPath, time);
            created = true;
        }

        if (created || !File.Exists(certPath) || !File.Exists(keyPath) || !File.Exists(namesPath) || File.ReadAllText(namesPath) != names
            || !HasAuthorityKeyIdentifier(certPath))
        {
            CreateServer(caPath, caKeyPath, certPath, keyPath, gatewayHostName, time);
            File.WriteAllText(namesPath, names);
            created = true;
        }

        using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
        // SslStream on Linux needs a certificate whose key is not ephemeral: round-trip through PKCS#12.
        var server = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        return new CertificateAuthority(caPath, certPath, keyPath, server);
    }

    private static IEnumerable<string> SubjectNames(string gatewayHostName) =>
        new[] { "localhost", "127.0.0.1", "edgeHub", gatewayHostName }.Distinct(StringComparer.OrdinalIgnoreCase);

    /// <summary>The subject every CA had before CAs got one of their own.</summary>
    internal const string LegacyCaSubject = "CN=Edge Simulator Local CA";

    private static bool IsLegacyCa(string caPath)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(caPath);
        return ca.Subject == LegacyCaSubject;
    }

    private static bool HasAuthorityKeyIdentifier(string certPath)
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(certPath);
        return cert.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Any(e => e.KeyIdentifier is not null);
    }

    private static void CreateCa(string caPath, string caKeyPath, TimeProvider time)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var req = new CertificateRequest($"{LegacyCaSubject} {id}", key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ski = new X509SubjectKeyIdentifierExtension(req.PublicKey, false);
        req.CertificateExtensions.Add(ski);
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(ski));
        var now = time.GetUtcNow();
        using var ca = req.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        WritePrivate(caKeyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(caPath, ca.ExportCertificatePem() + "\n");
    }

    private static void CreateServer(string caPath, string caKeyPath, string certPath, string keyPath, string gatewayHostName, TimeProvider time)
    {
        using var ca = X509Certificate2.CreateFromPemFile(caPath, caKeyPath);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={gatewayHostName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in SubjectNames(gatewayHostName))
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        req.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var now = time.GetUtcNow();
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        var notAfter = now.AddYears(2) < ca.NotAfter ? now.AddYears(2) : new DateTimeOffset(ca.NotAfter.ToUniversalTime());
        using var cert = req.Create(ca, now.AddDays(-1), notAfter, serial);
        WritePrivate(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, cert.ExportCertificatePem() + "\n" + ca.ExportCertificatePem() + "\n");
    }

    /// <summary>Writes a secret readable by the owner only.</summary>
    internal static void WritePrivate(string path, string content)
    {
        var tmp = path + ".tmp";
        File.WriteAllText(tmp, "");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(tmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(tmp, content);
        File.Move(tmp, path, overwrite: true);
    }
}
