using System.Net;
using System.Net.Sockets;
using Edge.TestSupport;

namespace Edge.Cli.Tests;

/// <summary>Mistakes and expected failures: one line on stderr that says what to do, and the documented exit code.</summary>
public sealed class BadInvocationTests : IDisposable
{
    private readonly TempDirectory _dir = new("edge-cli-bad");
    private readonly TempDirectory _hub = new("edge-cli-nohub");

    public static TheoryData<string, int, string> Invocations() => new()
    {
        // Usage errors: exit 2.
        { "frobnicate", 2, "edge: unknown command 'frobnicate' (edge --help lists the commands)" },
        { "--bogus", 2, "edge: unknown option '--bogus'" },
        { "help|frobnicate", 2, "edge help: unknown command 'frobnicate'" },
        { "up|--bogus", 2, "edge up: unknown option --bogus (edge up --help shows the usage)" },
        { "up|extra", 2, "edge up: unexpected argument 'extra'" },
        { "up|--mqtt-port|x", 2, "edge up: --mqtt-port 'x' is not a port (0 to 65535; 0 = any free port)" },
        { "up|--dashboard-port=70000", 2, "edge up: --dashboard-port '70000' is not a port" },
        { "up|--duration", 2, "edge up: --duration needs a value" },
        { "up|--duration|soon", 2, "edge up: --duration 'soon': use e.g. 30s, 5m, 1h" },
        { "up|--cameras|99", 2, "edge up: --cameras takes a number from 1 to 16" },
        { "twin", 2, "edge twin: give a subcommand: get or set" },
        { "twin|put", 2, "edge twin: unknown subcommand 'put' (get or set)" },
        { "twin|get|dev", 2, "edge twin get: give <device> <module>" },
        { "twin|get|dev|mod|--bogus|x", 2, "edge twin get: unknown option --bogus" },
        { "twin|set|dev|mod", 2, "edge twin set: give <device> <module> key=value..." },
        { "twin|set|dev|mod|novalue", 2, "edge twin set: 'novalue' is not key=value" },
        { "twin|set|dev|mod|a={bad", 2, "edge twin set: '{bad' starts like JSON but is not valid JSON" },
        { "twin|set|dev|mod|--json|a=text", 2, "edge twin set: --json: the value of 'a' is not JSON" },
        { "twin|set|dev|mod|a=1|--etag", 2, "edge twin set: --etag needs a value" },
        { "method", 2, "edge method: give a subcommand: invoke" },
        { "method|invoke|dev|mod", 2, "edge method invoke: give <device> <module> <method> [payload-json]" },
        { "method|invoke|dev|mod|m|{not json", 2, "edge method invoke: the payload is not JSON" },
        { "method|invoke|dev|mod|m|--timeout|1", 2, "edge method invoke: --timeout must be a whole number from 5 to 300, not '1'" },
        { "manifest", 2, "edge manifest: give a subcommand: build or validate" },
        { "manifest|frob", 2, "edge manifest: unknown subcommand 'frob' (build or validate)" },
        { "manifest|validate", 2, "edge manifest validate: give one manifest file" },
        { "manifest|validate|absent.json", 2, "edge manifest validate: manifest 'absent.json' not found" },
        { "manifest|build", 2, "edge manifest build: template 'deployment.template.json' not found" },
        { "manifest|build|--platform", 2, "edge manifest build: --platform needs a value" },
        { "deploy", 2, "edge deploy: give one manifest file" },
        { "deploy|m.json", 2, "edge deploy: give either --device <id> or --at-scale <deployment-id>" },
        { "monitor|extra", 2, "edge monitor: unexpected argument 'extra'" },
        { "monitor|--count|-1", 2, "edge monitor: --count must be a whole number" },
        { "fault", 2, "edge fault: give a subcommand: upstream, latency, drop or restart" },
        { "fault|sideways", 2, "edge fault: unknown subcommand 'sideways'" },
        { "fault|upstream|sideways", 2, "edge fault upstream: give offline or online" },
        { "fault|latency|soon", 2, "edge fault latency: latency takes milliseconds" },
        { "fault|drop", 2, "edge fault drop: give the module whose connection to drop" },
        { "hub|frob", 2, "edge hub: unknown subcommand 'frob' (the subcommand is inject)" },
        { "hub|--mqtt-port|70000", 2, "edge hub: --mqtt-port must be a whole number from 0 to 65535, not '70000'" },
        { "hub|--bogus", 2, "edge hub: unknown option --bogus" },
        { "hub|inject|Inference", 2, "edge hub inject: give <module> <input> <file>" },
        { "route", 2, "edge route: give a subcommand: eval" },
        { "route|frob", 2, "edge route: unknown subcommand 'frob'" },
        { "route|eval|--bogus|x", 2, "edge route eval: unexpected argument '--bogus'" },
        { "route|eval|--condition|true", 2, "edge route eval: give exactly one of --condition or --route, and --message" },

        // No hub running (EDGE_HUB_STATE is an empty folder): exit 3, naming how to start one.
        { "fault|restart", 3, "edge fault restart: no hub in " },
        { "hub|inject|Inference|frames|msg.json", 3, "edge hub inject: no hub in " },
        { "twin|get|dev|mod", 3, "edge twin get: no connection string (--connection-string or IOTHUB_CONNECTION_STRING) and no hub in" },
        { "method|invoke|dev|mod|getStatus", 3, "edge method invoke: no connection string" },
        { "monitor", 3, "edge monitor: no connection string" },
    };

    [Theory]
    [MemberData(nameof(Invocations))]
    public async Task Run_BadInvocation_OneLineErrorAndExitCode(string args, int exitCode, string error)
    {
        File.WriteAllText(Path.Combine(_dir.Path, "msg.json"), "{}");
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, args.Split('|'));

        r.ExitCode.ShouldBe(exitCode, r.ToString());
        r.StderrLines.Length.ShouldBe(1, r.ToString());
        r.StderrLines[0].ShouldStartWith(error, Case.Sensitive, r.ToString());
        if (exitCode == 3)
        {
            r.StderrLines[0].ShouldContain("start one with 'edge hub");
        }
    }

    [Theory]
    [InlineData("--mqtt-port", "--api-port")]
    [InlineData("--api-port", "--mqtt-port")]
    public async Task Hub_PortInUse_OneLineNamingTheOptionExitThree(string taken, string other)
    {
        using var holder = new TcpListener(IPAddress.Any, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var state = new TempDirectory("edge-cli-port");

        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, "hub", "--state", state.Path, taken, port, other, "0");

        r.ExitCode.ShouldBe(3, r.ToString());
        r.Stderr.ShouldNotContain("   at ");
        r.StderrLines.Length.ShouldBe(1, r.ToString());
        r.StderrLines[0].ShouldBe($"edge hub: port {port} ({taken}) is in use: stop what holds it (another 'edge up' or 'edge hub'? "
            + $"ss -ltnp shows it), or pass {taken} <port> (0 = any free port)");
        r.Stdout.ShouldNotContain("fail:");
    }

    public void Dispose()
    {
        _dir.Dispose();
        _hub.Dispose();
    }
}
