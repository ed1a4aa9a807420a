using System.Text.RegularExpressions;
using Edge.TestSupport;

namespace Edge.Cli.Tests;

/// <summary>
/// Every command and subcommand answers <c>--help</c>/<c>-h</c> with exit 0, a one-line description, usage and examples,
/// lines within 100 characters, and no side effect; the top-level help lists every command.
/// </summary>
public sealed class HelpTests : IDisposable
{
    private readonly TempDirectory _dir = new("edge-cli-help");
    private readonly TempDirectory _hub = new("edge-cli-hub");

    public static TheoryData<string, string?> EveryCommandAndSubcommand()
    {
        var data = new TheoryData<string, string?>();
        foreach (var c in CommandDispatcher.Commands)
        {
            data.Add(c.Name, null);
            foreach (var s in c.Subcommands)
            {
                data.Add(c.Name, s.Name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryCommandAndSubcommand))]
    public async Task Help_EveryCommandAndSubcommand_ExitZeroWithDescriptionUsageExamples(string command, string? sub)
    {
        var words = sub is null ? new[] { command } : [command, sub];
        foreach (var flag in new[] { "--help", "-h" })
        {
            var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, [.. words, flag]);

            r.ExitCode.ShouldBe(0, r.ToString());
            r.Stderr.ShouldBeEmpty(r.ToString());
            var lines = r.Stdout.TrimEnd().Split('\n');
            lines[0].ShouldMatch($"^edge {string.Join(' ', words)}: \\S.{{10,}}$");
            r.Stdout.ShouldContain($"usage: edge {string.Join(' ', words)}");
            r.Stdout.ShouldContain("examples:\n  edge " + command);
            r.Stdout.ShouldContain("exit codes: 0 ok");
            lines.Where(l => l.Length > CommandDispatcher.MaxLineLength).ShouldBeEmpty();
        }

        // `edge help <command> [<subcommand>]` says the same.
        var help = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, ["help", .. words]);
        help.ExitCode.ShouldBe(0, help.ToString());
        help.Stdout.ShouldStartWith($"edge {string.Join(' ', words)}: ");
    }

    [Fact]
    public void Commands_EveryOne_HasAShortDescriptionAndUsageLinesNamingIt()
    {
        CommandDispatcher.Commands.Count.ShouldBeGreaterThanOrEqualTo(9);
        foreach (var c in CommandDispatcher.Commands)
        {
            c.Description.Length.ShouldBeInRange(10, 72, c.Name);
            c.Usage.Split('\n').Where(l => l.Length > 0 && !l.StartsWith(' ')).ShouldAllBe(l => l.StartsWith(c.Name + " ") || l == c.Name);
            foreach (var s in c.Subcommands)
            {
                s.Description.Length.ShouldBeInRange(10, 90, $"{c.Name} {s.Name}");
                s.Examples.ShouldNotBeEmpty($"{c.Name} {s.Name}");
            }
        }
    }

    [Fact]
    public async Task TopLevelHelp_ListsEveryCommandWithItsDescription()
    {
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, "--help");

        r.ExitCode.ShouldBe(0, r.ToString());
        foreach (var c in CommandDispatcher.Commands)
        {
            r.Stdout.ShouldMatch($@"\n  {c.Name} +{Regex.Escape(c.Description)}\n");
        }

        r.Stdout.ShouldContain("\n  test ");
        r.Stdout.Split('\n').Where(l => l.Length > CommandDispatcher.MaxLineLength).ShouldBeEmpty();
    }

    [Fact]
    public async Task NoArguments_HelpOnStderrExitTwo()
    {
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null);

        r.ExitCode.ShouldBe(2);
        r.Stderr.ShouldContain("usage: edge <command>");
    }

    [Fact]
    public async Task Version_PrintsTheVersion()
    {
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, "--version");

        r.ExitCode.ShouldBe(0, r.ToString());
        r.Stdout.ShouldMatch(@"^edge \d+\.\d+\.\d+\S*\n$");
    }

    [Fact]
    public async Task HubHelp_StartsNoHub()
    {
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, "hub", "--mqtt-port", "0", "--help");

        r.ExitCode.ShouldBe(0, r.ToString());
        r.Stdout.ShouldNotContain("SharedAccessKey");
        Directory.EnumerateFileSystemEntries(_hub.Path).ShouldBeEmpty("edge hub --help created hub state");
    }

    [Fact]
    public async Task UpHelp_BuildsAndCreatesNothing()
    {
        var r = await EdgeProcess.RunAsync(_dir.Path, _hub.Path, null, "up", "--help");

        r.ExitCode.ShouldBe(0, r.ToString());
        Directory.EnumerateFileSystemEntries(_dir.Path).ShouldBeEmpty("edge up --help created files");
    }

    public void Dispose()
    {
        _dir.Dispose();
        _hub.Dispose();
    }
}
