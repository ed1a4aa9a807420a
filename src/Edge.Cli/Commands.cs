namespace Edge.Cli;

/// <summary>Dispatches <c>edge &lt;command&gt;</c> to the command implementations in this folder.</summary>
internal static class Commands
{
    private const string Usage = """
        usage: edge <command> [options]

          up                  run the whole solution locally on the simulator (see README)
          test                build and run every test (handled by the ./edge script)
          route eval          evaluate a route condition or a route against a message file
          manifest build      expand deployment.template.json into config/deployment.<platform>.json
          manifest validate   check a deployment manifest
          hub                 start the simulator hub alone
          deploy|twin|method|monitor   fleet operations through the IoT Hub service API (or the simulator)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        await Task.CompletedTask.ConfigureAwait(false);
        Console.Error.WriteLine($"edge: unknown command '{args[0]}'\n{Usage}");
        return 2;
    }
}
