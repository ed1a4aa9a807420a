using Edge.Runtime.Auth;
using Edge.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Edge.Runtime.Tests;

public sealed class SettingsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static readonly (string, string)[] EdgeEnv =
    [
        ("IOTEDGE_WORKLOADURI", "unix:///var/run/iotedge/workload.sock"),
        ("IOTEDGE_DEVICEID", "dev"),
        ("IOTEDGE_MODULEID", "filter"),
        ("IOTEDGE_MODULEGENERATIONID", "gen1"),
        ("IOTEDGE_IOTHUBHOSTNAME", "contoso.azure-devices.net"),
        ("IOTEDGE_GATEWAYHOSTNAME", "myedge"),
        ("IOTEDGE_AUTHSCHEME", "sasToken"),
    ];

    [Fact]
    public void FromConfiguration_NothingSet_NamesTheWorkloadVariable()
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config()));
        ex.Variable.ShouldBe("IOTEDGE_WORKLOADURI");
        ex.Message.ShouldContain("EdgeHubConnectionString");
    }

    [Theory]
    [InlineData("IOTEDGE_DEVICEID")]
    [InlineData("IOTEDGE_MODULEID")]
    [InlineData("IOTEDGE_MODULEGENERATIONID")]
    [InlineData("IOTEDGE_IOTHUBHOSTNAME")]
    [InlineData("IOTEDGE_AUTHSCHEME")]
    public void FromConfiguration_EdgeVariableMissing_NamesIt(string missing)
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config([.. EdgeEnv.Where(e => e.Item1 != missing)])));
        ex.Variable.ShouldBe(missing);
    }

    [Fact]
    public void FromConfiguration_EdgeEnvironment_UsesGatewayAndWorkload()
    {
        var s = EdgeHubSettings.FromConfiguration(Config(EdgeEnv));
        s.Identity.ShouldBe(new ModuleIdentity("dev", "filter"));
        s.GatewayHostName.ShouldBe("myedge");
        s.HubHostName.ShouldBe("contoso.azure-devices.net");
        s.Port.ShouldBe(8883);
        s.Tokens.ShouldBeOfType<WorkloadTokenSource>();
        s.Trust.ShouldBeOfType<WorkloadTrustSource>();
    }

    [Fact]
    public void FromConfiguration_UnsupportedAuthScheme_Rejected()
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config([.. EdgeEnv.Where(e => e.Item1 != "IOTEDGE_AUTHSCHEME"), ("IOTEDGE_AUTHSCHEME", "x509")])));
        ex.Message.ShouldContain("'x509' is not supported");
    }

    [Theory]
    [InlineData("HostName=h;DeviceId=d;SharedAccessKey=AAAA", "'ModuleId=' is missing")]
    [InlineData("HostName=h;DeviceId=d;ModuleId=m;SharedAccessKey=not base64!", "SharedAccessKey is not valid Base64")]
    [InlineData("garbage", "malformed part")]
    public void FromConfiguration_BadConnectionString_ClearError(string cs, string expected)
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config(("EdgeHubConnectionString", cs))));
        ex.Variable.ShouldBe("EdgeHubConnectionString");
        ex.Message.ShouldContain(expected);
    }

    [Fact]
    public void FromConfiguration_GatewayWithoutCaFile_NamesCaVariable()
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config(("EdgeHubConnectionString", "HostName=h;GatewayHostName=g;DeviceId=d;ModuleId=m;SharedAccessKey=AAAA"))));
        ex.Variable.ShouldBe("EdgeModuleCACertificateFile");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("70000")]
    [InlineData("abc")]
    public void FromConfiguration_BadPort_NamesEdgeHubPort(string port)
    {
        var ex = Should.Throw<EdgeConfigurationException>(() => EdgeHubSettings.FromConfiguration(Config([.. EdgeEnv, ("EdgeHubPort", port)])));
        ex.Variable.ShouldBe("EdgeHubPort");
    }

    [Theory]
    [InlineData("fatal", LogLevel.Critical)]
    [InlineData("Error", LogLevel.Error)]
    [InlineData("warning", LogLevel.Warning)]
    [InlineData("info", LogLevel.Information)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("verbose", LogLevel.Trace)]
    [InlineData(null, LogLevel.Information)]
    public void ParseRuntimeLogLevel_IotEdgeValues_Mapped(string? value, LogLevel expected) =>
        EdgeModuleServiceCollectionExtensions.ParseRuntimeLogLevel(value).ShouldBe(expected);

    [Fact]
    public void ResolveStateDirectory_Explicit_Wins()
    {
        EdgeModuleServiceCollectionExtensions.ResolveStateDirectory(Config(("StateDirectory", "/tmp/x"), ("IOTEDGE_MODULEID", "m"))).ShouldBe("/tmp/x");
    }

    [Fact]
    public void ResolveStateDirectory_OutsideContainer_HomePerModule()
    {
        var dir = EdgeModuleServiceCollectionExtensions.ResolveStateDirectory(Config(("IOTEDGE_MODULEID", "filter"), ("DOTNET_RUNNING_IN_CONTAINER", "false")));
        if (!File.Exists("/.dockerenv"))
        {
            dir.ShouldEndWith(Path.Combine(".edge-state", "filter"));
        }
    }

    [Fact]
    public void ResolveStateDirectory_InContainer_AppState() =>
        EdgeModuleServiceCollectionExtensions.ResolveStateDirectory(Config(("DOTNET_RUNNING_IN_CONTAINER", "true"))).ShouldBe("/app/state");

    [Fact]
    public void Validate_NameMismatch_RejectedWithReason()
    {
        using var certs = TestCertificates.Create();
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(certs.Ca);
        ServerCertificateValidator.Validate(certs.Server, System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch, roots)!.ShouldContain("does not name the host");
        ServerCertificateValidator.Validate(certs.Server, System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors, roots).ShouldBeNull();
        ServerCertificateValidator.Validate(null, System.Net.Security.SslPolicyErrors.None, roots).ShouldNotBeNull();
    }
}
