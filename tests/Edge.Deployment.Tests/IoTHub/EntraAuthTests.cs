using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Identity;
using Edge.Cli.Fleet;
using Edge.Deployment.IoTHub;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Deployment.Tests.IoTHub;

/// <summary><c>--auth entra</c> at the HTTP boundary: a fake IoT Hub on loopback and a fake token credential (the cloud is not ours).</summary>
public sealed class EntraAuthTests : IAsyncLifetime
{
    private FakeIoTHub _hub = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _hub = await FakeIoTHub.StartAsync();

    public async ValueTask DisposeAsync() => await _hub.DisposeAsync();

    [Fact]
    public async Task CreateClient_AuthEntra_SendsBearerTokenForTheIoTHubScopeAndReusesIt()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 200, """{"deviceId":"edge-1","moduleId":"Inference","etag":"AAAA","properties":{"desired":{},"reported":{}}}""");
        var credential = new FakeCredential(TimeSpan.FromHours(1));
        var line = CommandLine.Parse(["--auth", "entra", "--host", "contoso.azure-devices.net", "--endpoint", _hub.Endpoint.ToString()], FleetConnection.Options, []);

        using (var client = FleetConnection.CreateClient(line, NullLoggerFactory.Instance, EntraTokenSource.Create(credential)))
        {
            await client.GetModuleTwinAsync("edge-1", "Inference", Ct);
            await client.UpdateModuleTwinDesiredAsync("edge-1", "Inference", new JsonObject { ["a"] = 1 }, "AAAA", Ct);
        }

        _hub.Requests.Count.ShouldBe(2);
        _hub.Requests.ShouldAllBe(r => r.Headers["Authorization"] == "Bearer token-1");
        _hub.Requests.ShouldAllBe(r => !r.Headers["Authorization"].Contains("SharedAccessSignature", StringComparison.Ordinal));
        credential.Requests.ShouldHaveSingleItem().Scopes.ShouldBe(["https://iothubs.azure.net/.default"]);
    }

    [Fact]
    public async Task CreateClient_AuthEntraWithConnectionStringHostOnly_UsesItsHostName()
    {
        _hub.Respond = (_, ctx) => FakeIoTHub.Reply(ctx, 204, null);
        var line = CommandLine.Parse(["--auth", "entra", "--connection-string", "HostName=contoso.azure-devices.net", "--endpoint", _hub.Endpoint.ToString()], FleetConnection.Options, []);

        using var client = FleetConnection.CreateClient(line, NullLoggerFactory.Instance, EntraTokenSource.Create(new FakeCredential(TimeSpan.FromHours(1))));
        await client.ApplyConfigurationContentAsync("edge-1", [], Ct);

        _hub.Requests.Single().Headers["Authorization"].ShouldBe("Bearer token-1");
    }

    [Theory]
    [InlineData(new[] { "--auth", "entra" }, "--auth entra needs the hub: pass --host")]
    [InlineData(new[] { "--auth", "aad" }, "--auth must be 'sas'")]
    public void CreateClient_BadAuthInvocation_OneLineNamingTheFix(string[] args, string expected)
    {
        var line = CommandLine.Parse(args, FleetConnection.Options, []);

        Should.Throw<UsageException>(() => FleetConnection.CreateClient(line, NullLoggerFactory.Instance, EntraTokenSource.Create(new FakeCredential(TimeSpan.FromHours(1)))))
            .Message.ShouldStartWith(expected);
    }

    [Fact]
    public async Task EntraTokenSource_SignInFails_IoTHubErrorSayingHowToSignIn()
    {
        var line = CommandLine.Parse(["--auth", "entra", "--host", "contoso.azure-devices.net", "--endpoint", _hub.Endpoint.ToString()], FleetConnection.Options, []);
        using var client = FleetConnection.CreateClient(line, NullLoggerFactory.Instance, EntraTokenSource.Create(new FakeCredential(TimeSpan.FromHours(1)) { Fail = true }));

        var ex = await Should.ThrowAsync<IoTHubException>(() => client.GetModuleTwinAsync("edge-1", "Inference", Ct));

        ex.StatusCode.ShouldBe(System.Net.HttpStatusCode.Unauthorized);
        ex.Message.ShouldContain("az login");
        _hub.Requests.ShouldBeEmpty("nothing is sent without a token");
    }

    [Fact]
    public async Task GetAuthorizationAsync_TokenNearExpiry_RenewedBeforeUse()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var issued = 0;
        var auth = new BearerTokenAuthorization((_, _) => ValueTask.FromResult(new IoTHubAccessToken($"t{++issued}", time.GetUtcNow().AddMinutes(10))), time);

        (await auth.GetAuthorizationAsync(Ct)).ShouldBe("Bearer t1");
        time.Advance(TimeSpan.FromMinutes(4));
        (await auth.GetAuthorizationAsync(Ct)).ShouldBe("Bearer t1", "still 6 minutes left");
        time.Advance(TimeSpan.FromMinutes(2));
        (await auth.GetAuthorizationAsync(Ct)).ShouldBe("Bearer t2", "within 5 minutes of expiry");
        issued.ShouldBe(2);
    }

    private sealed class FakeCredential(TimeSpan lifetime) : TokenCredential
    {
        private int _issued;

        public List<TokenRequestContext> Requests { get; } = [];

        public bool Fail { get; init; }

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (Requests)
            {
                Requests.Add(requestContext);
            }

            if (Fail)
            {
                throw new CredentialUnavailableException("DefaultAzureCredential failed to retrieve a token from the included credentials.\nEnvironmentCredential authentication unavailable.");
            }

            return ValueTask.FromResult(new AccessToken($"token-{Interlocked.Increment(ref _issued)}", TimeProvider.System.GetUtcNow() + lifetime));
        }
    }
}
