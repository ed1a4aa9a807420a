using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Edge.Hub.Security;

namespace Edge.Hub.Tests;

/// <summary>
/// The simulator CA: a subject of its own per state directory and key identifiers on every certificate, so that a client which
/// trusts the CAs of earlier state directories too (the device SDK installs each one into the user's root store) builds the
/// server chain to this hub's CA.
/// </summary>
public sealed class CertificateAuthorityTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hub-ca-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void LoadOrCreate_TwoStateDirectories_CasHaveDifferentSubjects()
    {
        var a = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "a"), "gw", TimeProvider.System, out _);
        var b = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "b"), "gw", TimeProvider.System, out _);
        using var caA = X509CertificateLoader.LoadCertificateFromFile(a.CaCertificatePath);
        using var caB = X509CertificateLoader.LoadCertificateFromFile(b.CaCertificatePath);

        caA.Subject.ShouldStartWith(CertificateAuthority.LegacyCaSubject + " ");
        caB.Subject.ShouldStartWith(CertificateAuthority.LegacyCaSubject + " ");
        caA.Subject.ShouldNotBe(caB.Subject);
        b.ServerCertificate.Issuer.ShouldBe(caB.Subject);
    }

    [Fact]
    public void ServerCertificate_AuthorityKeyIdentifier_IsTheCasSubjectKeyIdentifier()
    {
        var ca = CertificateAuthority.LoadOrCreate(_dir, "gw", TimeProvider.System, out _);
        using var caCert = X509CertificateLoader.LoadCertificateFromFile(ca.CaCertificatePath);

        var caSki = caCert.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray();
        var caAki = caCert.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single().KeyIdentifier!.Value.ToArray();
        var serverAki = ca.ServerCertificate.Extensions.OfType<X509AuthorityKeyIdentifierExtension>().Single().KeyIdentifier!.Value.ToArray();

        ca.ServerCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().ShouldHaveSingleItem();
        caAki.ShouldBe(caSki);
        serverAki.ShouldBe(caSki);
    }

    [Fact]
    public void ChainBuild_StaleCasAlsoTrusted_BuildsToThisHubsCa()
    {
        var earlier = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "earlier"), "gw", TimeProvider.System, out _);
        var current = CertificateAuthority.LoadOrCreate(Path.Combine(_dir, "current"), "gw", TimeProvider.System, out _);
        using var earlierCa = X509CertificateLoader.LoadCertificateFromFile(earlier.CaCertificatePath);
        using var currentCa = X509CertificateLoader.LoadCertificateFromFile(current.CaCertificatePath);
        using var legacy = SelfSignedCa(CertificateAuthority.LegacyCaSubject);
        using var sameSubject = SelfSignedCa(currentCa.Subject); // a stale CA that even has this hub's CA's subject

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(new[] { legacy, sameSubject, earlierCa, currentCa });

        chain.Build(current.ServerCertificate).ShouldBeTrue(string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
        chain.ChainElements[^1].Certificate.Thumbprint.ShouldBe(currentCa.Thumbprint);
    }

    [Fact]
    public void LoadOrCreate_CaWithTheOldSharedSubject_IsReplaced()
    {
        var certs = Path.Combine(_dir, "certs");
        Directory.CreateDirectory(certs);
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var req = new CertificateRequest(CertificateAuthority.LegacyCaSubject, key, HashAlgorithmName.SHA256);
            req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
            req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
            var now = TimeProvider.System.GetUtcNow();
            using var old = req.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
            File.WriteAllText(Path.Combine(certs, "ca.pem"), old.ExportCertificatePem());
            File.WriteAllText(Path.Combine(certs, "ca.key.pem"), key.ExportPkcs8PrivateKeyPem());
        }

        var ca = CertificateAuthority.LoadOrCreate(_dir, "gw", TimeProvider.System, out var created);
        using var caCert = X509CertificateLoader.LoadCertificateFromFile(ca.CaCertificatePath);

        created.ShouldBeTrue();
        caCert.Subject.ShouldNotBe(CertificateAuthority.LegacyCaSubject);
        ca.ServerCertificate.Issuer.ShouldBe(caCert.Subject);

        // Reused afterwards: a second start keeps the CA.
        CertificateAuthority.LoadOrCreate(_dir, "gw", TimeProvider.System, out var again);
        again.ShouldBeFalse();
        using var reloaded = X509CertificateLoader.LoadCertificateFromFile(ca.CaCertificatePath);
        reloaded.Thumbprint.ShouldBe(caCert.Thumbprint);
    }

    private static X509Certificate2 SelfSignedCa(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 1, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        req.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(req.PublicKey, false));
        var now = TimeProvider.System.GetUtcNow();
        return req.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
    }
}
