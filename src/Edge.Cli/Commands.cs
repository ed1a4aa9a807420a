namespace Edge.Cli;

/// <summary>One top-level <c>edge</c> command, found by reflection: add a class under Commands/, nothing else to register.</summary>
internal interface ICommand
{
    /// <summary>The first word on the command line (<c>up</c>, <c>route</c>, <c>manifest</c>, ...).</summary>
    string Name { get; }

    /// <summary>One or more usage lines shown by <c>edge help</c>.</summary>
    string Usage { get; }

    /// <summary>Runs with the arguments after the name. Exit codes: 0 ok, 1 failure, 2 usage or validation error.</summary>
    Task<int> RunAsync(string[] args, CancellationToken ct);
}

/// <summary>Dispatches <c>edge &lt;command&gt;</c>.</summary>
internal static class Commands
{
    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            Cancel(cts);
        };

        // ProcessExit fires after RunAsync returned and disposed cts: cancelling then must not crash the exit (was exit code 134).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Cancel(cts);

        var commands = typeof(ICommand).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICommand).IsAssignableFrom(t))
            .Select(t => (ICommand)Activator.CreateInstance(t)!)
            .OrderBy(c => c.Name, StringComparer.Ordinal)
            .ToList();

        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            PrintUsage(Console.Out, commands);
            return args.Length == 0 ? 2 : 0;
        }

        var command = commands.FirstOrDefault(c => c.Name == args[0]);
        if (command is null)
        {
            Console.Error.WriteLine($"edge: unknown command '{args[0]}'");
            PrintUsage(Console.Error, commands);
            return 2;
        }

        return await command.RunAsync(args[1..], cts.Token).ConfigureAwait(false);
    }

    private static void Cancel(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The command has finished.
        }
    }

    private static void PrintUsage(TextWriter w, List<ICommand> commands)
    {
        w.WriteLine("usage: edge <command> [options]\n");
        w.WriteLine("  test                 install what the tests need, build, run every test (the ./edge script)");
        foreach (var c in commands)
        {
            foreach (var line in c.Usage.Split('\n'))
            {
                w.WriteLine("  " + line.TrimEnd());
            }
        }
    }
}
