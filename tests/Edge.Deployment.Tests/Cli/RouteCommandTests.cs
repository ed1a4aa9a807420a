using System.Diagnostics;
using Edge.Cli;

namespace Edge.Deployment.Tests.Cli;

/// <summary><c>edge route eval</c>, run in-process through the command class, and once as the built <c>edge</c> binary.</summary>
public sealed class RouteCommandTests : IDisposable
{
    private const string FramesMessage = """
        {
          "body": { "faces": 2, "label": "person" },
          "contentType": "application/json",
          "contentEncoding": "utf-8",
          "properties": { "severity": "high" },
          "systemProperties": { "connectionDeviceId": "edge-1", "connectionModuleId": "camera", "outputName": "frames" }
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("route-eval-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("$body.faces > 1", "true")]
    [InlineData("$body.faces > 5", "false")]
    [InlineData("$body.missing > 5", "true")] // edgeHub: a $body path that selects nothing is null, and null orders after numbers
    [InlineData("is_number($body.missing) AND $body.missing > 5", "false")]
    [InlineData("severity = 'high' AND $connectionModuleId = 'camera'", "true")]
    [InlineData("$outputName = 'frames'", "true")]
    public async Task Eval_Condition_PrintsResultAndExitsZero(string condition, string expected)
    {
        var (code, stdout, _) = await RunAsync("eval", "--condition", condition, "--message", Write(FramesMessage));

        code.ShouldBe(0);
        stdout.Trim().ShouldBe(expected);
    }

    [Theory]
    [InlineData("FROM /messages/modules/camera/outputs/frames INTO BrokeredEndpoint(\"/modules/inference/inputs/frames\")", "BrokeredEndpoint(\"/modules/inference/inputs/frames\")")]
    [InlineData("FROM /messages/modules/camera/* WHERE $body.faces > 0 INTO $upstream", "$upstream")]
    [InlineData("FROM /messages/modules/camera/* WHERE $body.faces > 9 INTO $upstream", "no match")]
    [InlineData("FROM /messages/modules/inference/* INTO $upstream", "no match")]
    [InlineData("FROM /messages/* WHERE NOT is_defined($connectionModuleId) INTO $upstream", "no match")]
    public async Task Eval_Route_PrintsSinkOrNoMatch(string route, string expected)
    {
        var (code, stdout, _) = await RunAsync("eval", "--route", route, "--message", Write(FramesMessage));

        code.ShouldBe(0);
        stdout.Trim().ShouldBe(expected);
    }

    [Fact]
    public async Task Eval_LeafDeviceMessage_SourceIsMessages()
    {
        var file = Write("""{ "body": "plain text", "systemProperties": { "connectionDeviceId": "leaf-1" } }""");

        var (code, stdout, _) = await RunAsync("eval", "--route", "FROM /messages/* WHERE NOT is_defined($connectionModuleId) INTO $upstream", "--message", file);

        code.ShouldBe(0);
        stdout.Trim().ShouldBe("$upstream");
    }

    [Fact]
    public async Task Eval_ExplicitSource_OverridesTheDerivedOne()
    {
        var file = Write("""{ "source": "/twinChangeNotifications", "contentType": "application/json", "contentEncoding": "utf-8", "body": { "properties": { "reported": { "fps": 15 } } } }""");

        var (code, stdout, _) = await RunAsync("eval", "--route", "FROM /twinChangeNotifications WHERE twin_change_includes(properties.reported.fps) INTO $upstream", "--message", file);

        code.ShouldBe(0);
        stdout.Trim().ShouldBe("$upstream");
    }

    [Theory]
    [InlineData("is_defined(nullable)", "true")] // upstream: ConditionCompilerTest "is_defined(null_value)"
    [InlineData("is_null(nullable)", "true")]
    [InlineData("is_null(missing)", "false")]
    [InlineData("is_string(nullable)", "false")]
    [InlineData("'a' || nullable || 'd' = 'ad'", "true")] // concatenation reads null as empty
    [InlineData("nullable = 'x'", "undefined")] // comparing a null string is undefined
    [InlineData("NULLABLE <> 'x'", "undefined")] // names are case-insensitive
    [InlineData("is_null($sysnull) AND is_defined({$sysnull})", "true")]
    public async Task Eval_NullValuedProperties_EvaluatedAsEdgeHubDoes(string condition, string expected)
    {
        var file = Write("""{ "body": "x", "properties": { "nullable": null }, "systemProperties": { "sysnull": null } }""");

        var (code, stdout, stderr) = await RunAsync("eval", "--condition", condition, "--message", file);

        code.ShouldBe(0, stderr);
        stdout.Trim().ShouldBe(expected);
    }

    [Fact]
    public async Task Eval_BodyWithoutJsonContentType_UndefinedWithANote()
    {
        var file = Write("""{ "body": { "faces": 2 } }""");

        var (code, stdout, stderr) = await RunAsync("eval", "--condition", "$body.faces = 2", "--message", file);

        code.ShouldBe(0);
        stdout.Trim().ShouldBe("undefined");
        stderr.ShouldContain("contentType is application/json");
    }

    [Fact]
    public async Task Eval_Utf16Body_IsEncodedAndQueried()
    {
        var file = Write("""{ "body": { "faces": 4 }, "contentType": "application/json", "contentEncoding": "utf-16" }""");

        var (_, stdout, _) = await RunAsync("eval", "--condition", "$body.faces = 4", "--message", file);

        stdout.Trim().ShouldBe("true");
    }

    [Fact]
    public async Task Eval_MessageFromStdin_IsRead()
    {
        var (code, stdout, _) = await RunAsync(["eval", "--condition", "severity = 'high'", "--message", "-"], FramesMessage);

        code.ShouldBe(0);
        stdout.Trim().ShouldBe("true");
    }

    [Theory]
    [InlineData("--condition", "severity > 3", "does not compile: invalid operands to '>'")]
    [InlineData("--condition", "(true", "missing closing ')' (column 1)")]
    [InlineData("--route", "FROM /messages INTO $downstream", "route does not compile: system endpoint '$downstream' not supported: use $upstream (column 21)")]
    public async Task Eval_CompileError_PrintsItAndExitsTwo(string option, string text, string error)
    {
        var (code, stdout, stderr) = await RunAsync("eval", option, text, "--message", Write(FramesMessage));

        code.ShouldBe(2);
        stdout.ShouldBeEmpty();
        stderr.ShouldContain(error);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1, 2]", "expected a JSON object")]
    [InlineData("""{ "bdy": {} }""", "unknown key(s) 'bdy'")]
    [InlineData("""{ "properties": { "n": 5 } }""", "'properties.n' must be a string")]
    [InlineData("""{ "properties": [] }""", "'properties' must be an object")]
    [InlineData("""{ "systemProperties": { "contentType": 1 } }""", "'systemProperties.contentType' must be a string or null")]
    [InlineData("""{ "contentType": 1 }""", "'contentType' must be a string")]
    [InlineData("""{ "source": true }""", "'source' must be a string")]
    public async Task Eval_BadMessageFile_ClearErrorExitTwo(string json, string error)
    {
        var (code, _, stderr) = await RunAsync("eval", "--condition", "true", "--message", Write(json));

        code.ShouldBe(2);
        stderr.ShouldContain("invalid message file");
        stderr.ShouldContain(error);
    }

    [Fact]
    public async Task Eval_MissingMessageFile_ExitTwo()
    {
        var (code, _, stderr) = await RunAsync("eval", "--condition", "true", "--message", Path.Combine(_dir, "absent.json"));

        code.ShouldBe(2);
        stderr.ShouldContain("cannot read message file");
    }

    [Theory]
    [InlineData("")]
    [InlineData("check")]
    [InlineData("eval|--condition|true")]
    [InlineData("eval|--message|m.json")]
    [InlineData("eval|--condition|true|--route|FROM /messages INTO $upstream|--message|m.json")]
    [InlineData("eval|--condition")]
    [InlineData("eval|--bogus|x")]
    public async Task Run_BadUsage_ExitTwo(string args)
    {
        var (code, _, _) = await RunAsync(args.Length == 0 ? [] : args.Split('|'));

        code.ShouldBe(2);
    }

    [Fact]
    public async Task Run_Help_ExitZeroWithUsage()
    {
        var (code, stdout, _) = await RunAsync("--help");

        code.ShouldBe(0);
        stdout.ShouldContain("edge route eval --condition");
    }

    [Fact]
    public async Task EdgeBinary_RouteEval_PrintsSinkAsChildProcess()
    {
        // The built `edge` apphost sits beside this test assembly (Edge.Cli is a project reference).
        var exe = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "edge.exe" : "edge");
        Assert.SkipUnless(File.Exists(exe), $"the edge apphost was not built at {exe}");
        var start = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "route", "eval", "--route", "FROM /messages/modules/camera/* WHERE $body.faces >= 2 INTO BrokeredEndpoint('/modules/inference/inputs/frames')", "--message", Write(FramesMessage) })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TimeProvider.System, TestContext.Current.CancellationToken);

        process.ExitCode.ShouldBe(0, await stderr);
        (await stdout).Trim().ShouldBe("BrokeredEndpoint(\"/modules/inference/inputs/frames\")");
    }

    private string Write(string json)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    private static Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args) => RunAsync(args, string.Empty);

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string[] args, string stdin)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var input = new StringReader(stdin);
        var command = new RouteCommand(stdout, stderr, input);
        command.Name.ShouldBe("route");

        var code = await command.RunAsync(args, TestContext.Current.CancellationToken);
        return (code, stdout.ToString(), stderr.ToString());
    }
}
