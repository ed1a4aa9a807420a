using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Edge.TestSupport;

/// <summary>A freshly generated CA and a server certificate it issued (SAN localhost, 127.0.0.1 and extra names).</summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(X509Certificate2 ca, X509Certificate2 server)
    {
        Ca = ca;
        Server = server;
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    /// <summary>The CA as PEM text (what <c>EdgeModuleCACertificateFile</c> or the workload trust bundle holds).</summary>
    public string CaPem => Ca.ExportCertificatePem();

    public static TestCertificates Create(string caName = "Edge Test CA", params string[] extraDnsNames)
    {
        // ECDSA P-256: generated in about a millisecond (RSA 2048 takes up to seconds on a loaded machine).
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caReq = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caReq.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caReq.PublicKey, false));
        var now = DateTimeOffset.FromUnixTimeSeconds(TimeProvider.System.GetUtcNow().ToUnixTimeSeconds());
        using var caCert = caReq.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        var ca = X509CertificateLoader.LoadPkcs12(caCert.Export(X509ContentType.Pfx), null);

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        foreach (var n in extraDnsNames)
        {
            san.AddDnsName(n);
        }

        req.CertificateExtensions.Add(san.Build());
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var serial = RandomNumberGenerator.GetBytes(12);
        using var issued = req.Create(ca, now.AddDays(-1), now.AddDays(300), serial);
        using var withKey = issued.CopyWithPrivateKey(serverKey);
        var server = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
        return new TestCertificates(ca, server);
    }

    /// <summary>Writes the CA PEM to a file in <paramref name="directory"/> and returns its path.</summary>
    public string WriteCaPem(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "edge-ca.pem");
        File.WriteAllText(path, CaPem);
        return path;
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
    }
}
