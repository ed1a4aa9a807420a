using System.Reflection;
using System.Runtime.InteropServices;

namespace Edge.Cli;

/// <summary>
/// One top-level <c>edge</c> command, found by reflection: add a class under Commands/, nothing else to register. Help
/// (<c>edge &lt;command&gt; [subcommand] --help</c>) is generated from <see cref="Description"/>, <see cref="Usage"/>,
/// <see cref="Examples"/> and <see cref="Subcommands"/> by the dispatcher, before the command runs: a command never sees
/// <c>-h</c>/<c>--help</c>, so asking for help has no side effect.
/// </summary>
internal interface ICommand
{
    /// <summary>The first word on the command line (<c>up</c>, <c>route</c>, <c>manifest</c>, ...).</summary>
    string Name { get; }

    /// <summary>What the command does, in one line (at most 72 characters), for <c>edge --help</c>.</summary>
    string Description => "";

    /// <summary>One or more usage lines, each starting with the command name (no leading <c>edge</c>).</summary>
    string Usage { get; }

    /// <summary>Example invocations, each a whole command line starting with <c>edge</c>, optionally followed by <c>  # comment</c>.</summary>
    IReadOnlyList<string> Examples => [];

    /// <summary>The subcommands (<c>manifest build</c>, <c>twin set</c>, ...), each with its own help; empty when there are none.</summary>
    IReadOnlyList<Subcommand> Subcommands => [];

    /// <summary>Runs with the arguments after the name; returns one of <see cref="ExitCodes"/>.</summary>
    Task<int> RunAsync(string[] args, CancellationToken ct);
}

/// <summary>A subcommand's help: its name (the word after the command), one-line description, usage lines and examples.</summary>
internal sealed record Subcommand(string Name, string Description, string Usage, IReadOnlyList<string> Examples);

/// <summary>The exit codes every <c>edge</c> command uses (docs/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The operation ran and failed: IoT Hub or the hub answered an error, a method returned non-2xx, an unhealthy run.</summary>
    public const int Failed = 1;

    /// <summary>Usage or input error: unknown command or option, a missing or bad argument, a missing file, an invalid manifest.</summary>
    public const int Usage = 2;

    /// <summary>Something local is unavailable: a port is in use, no running hub was found, a needed tool is missing.</summary>
    public const int Unavailable = 3;

    /// <summary>Stopped by Ctrl+C / SIGTERM before it finished (commands that run until stopped exit 0 instead).</summary>
    public const int Interrupted = 130;
}

/// <summary>Dispatches <c>edge &lt;command&gt;</c>; answers <c>--help</c> and <c>--version</c> itself.</summary>
internal static class CommandDispatcher
{
    /// <summary>Help and error lines are kept within this width.</summary>
    public const int MaxLineLength = 100;

    /// <summary>Every command, ordered by name.</summary>
    public static IReadOnlyList<ICommand> Commands { get; } = typeof(ICommand).Assembly.GetTypes()
        .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t))
        .Select(t => (ICommand)Activator.CreateInstance(t)!)
        .OrderBy(c => c.Name, StringComparer.Ordinal)
        .ToList();

    public static string Version =>
        typeof(CommandDispatcher).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        // Ctrl+C and SIGTERM cancel the running command, which then shuts down in order (a second Ctrl+C kills).
        using var cts = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        void Stop(PosixSignalContext context)
        {
            context.Cancel = !cts.IsCancellationRequested;
            cts.Cancel();
        }

        return await RunAsync(args, Console.Out, Console.Error, cts.Token).ConfigureAwait(false);
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        if (args.Length == 0)
        {
            await stderr.WriteLineAsync(TopLevelHelp()).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        switch (args[0])
        {
            case "-h" or "--help":
                await stdout.WriteLineAsync(TopLevelHelp()).ConfigureAwait(false);
                return ExitCodes.Ok;
            case "help":
                return await HelpAsync(args[1..], stdout, stderr).ConfigureAwait(false);
            case "--version" or "-V" or "version":
                await stdout.WriteLineAsync("edge " + Version).ConfigureAwait(false);
                return ExitCodes.Ok;
            default:
                break;
        }

        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            await stderr.WriteLineAsync(args[0].StartsWith('-')
                ? $"edge: unknown option '{args[0]}' (edge --help lists the commands)"
                : $"edge: unknown command '{args[0]}' (edge --help lists the commands{Suggest(args[0])})").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var rest = args[1..];
        if (WantsHelp(rest))
        {
            await stdout.WriteLineAsync(CommandHelp(command, rest.FirstOrDefault())).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        return await command.RunAsync(rest, ct).ConfigureAwait(false);
    }

    /// <summary>True when <c>-h</c> or <c>--help</c> appears before a <c>--</c> separator.</summary>
    internal static bool WantsHelp(IEnumerable<string> args) =>
        args.TakeWhile(a => a != "--").Any(a => a is "-h" or "--help");

    private static async Task<int> HelpAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0)
        {
            await stdout.WriteLineAsync(TopLevelHelp()).ConfigureAwait(false);
            return ExitCodes.Ok;
        }

        var command = Commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            await stderr.WriteLineAsync($"edge help: unknown command '{args[0]}' (edge --help lists the commands)").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        await stdout.WriteLineAsync(CommandHelp(command, args.Length > 1 ? args[1] : null)).ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static string Suggest(string name)
    {
        var close = Commands.Select(c => c.Name).FirstOrDefault(n => n.StartsWith(name, StringComparison.Ordinal) || name.StartsWith(n, StringComparison.Ordinal));
        return close is null ? "" : $"; did you mean '{close}'?";
    }

    /// <summary>What <c>edge --help</c> prints.</summary>
    public static string TopLevelHelp()
    {
        var w = new StringWriter();
        w.WriteLine("edge: run the camera AI solution on a local simulator, check manifests and routes, operate a fleet");
        w.WriteLine();
        w.WriteLine("usage: edge <command> [<subcommand>] [options]");
        w.WriteLine("       edge <command> --help       a command's usage, options and examples");
        w.WriteLine("       edge --version");
        w.WriteLine();
        w.WriteLine("commands:");
        var rows = Commands.Select(c => (c.Name, c.Description))
            .Append(("test", "install what the tests need, build, run every test (./edge script only)"))
            .OrderBy(r => r.Item1, StringComparer.Ordinal)
            .ToList();
        var width = rows.Max(r => r.Item1.Length) + 2;
        foreach (var (name, description) in rows)
        {
            w.WriteLine($"  {name.PadRight(width)}{description}");
        }

        w.WriteLine();
        w.Write(ExitCodeHelp);
        return w.ToString().TrimEnd();
    }

    /// <summary>The exit-code paragraph every help ends with.</summary>
    public const string ExitCodeHelp =
        "exit codes: 0 ok; 1 the operation failed; 2 usage or input error; 3 a port in use or no running hub;\n" +
        "            130 interrupted (docs/cli.md)\n";

    /// <summary>A command's help, or one subcommand's when <paramref name="sub"/> names one.</summary>
    public static string CommandHelp(ICommand command, string? sub)
    {
        var w = new StringWriter();
        if (command.Subcommands.FirstOrDefault(s => s.Name == sub) is { } subcommand)
        {
            w.WriteLine($"edge {command.Name} {subcommand.Name}: {subcommand.Description}");
            w.WriteLine();
            WriteUsage(w, subcommand.Usage);
            WriteExamples(w, subcommand.Examples);
        }
        else
        {
            w.WriteLine($"edge {command.Name}: {command.Description}");
            w.WriteLine();
            WriteUsage(w, command.Usage);
            if (command.Subcommands.Count > 0)
            {
                w.WriteLine();
                w.WriteLine("subcommands:");
                var width = command.Subcommands.Max(s => s.Name.Length) + 2;
                foreach (var s in command.Subcommands)
                {
                    w.WriteLine($"  {s.Name.PadRight(width)}{s.Description}");
                }

                w.WriteLine($"  (edge {command.Name} <subcommand> --help for its options and examples)");
            }

            WriteExamples(w, command.Examples.Count > 0 ? command.Examples : [.. command.Subcommands.SelectMany(s => s.Examples)]);
        }

        w.WriteLine();
        w.Write(ExitCodeHelp);
        return w.ToString().TrimEnd();
    }

    private static void WriteUsage(StringWriter w, string usage)
    {
        var first = true;
        foreach (var line in usage.Split('\n'))
        {
            var text = line.TrimEnd();
            if (text.Length == 0)
            {
                continue;
            }

            // Continuation lines (indented in the source) stay indented under the first.
            var continuation = text.StartsWith(' ');
            w.WriteLine(continuation ? "       " + text : (first ? "usage: edge " : "       edge ") + text);
            first = false;
        }
    }

    private static void WriteExamples(StringWriter w, IReadOnlyList<string> examples)
    {
        if (examples.Count == 0)
        {
            return;
        }

        w.WriteLine();
        w.WriteLine("examples:");
        foreach (var e in examples)
        {
            w.WriteLine("  " + e);
        }
    }
}
