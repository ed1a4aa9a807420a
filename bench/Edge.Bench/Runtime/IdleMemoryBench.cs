using Edge.TestSupport;
using MQTTnet.Protocol;

namespace Edge.Bench.Runtime;

/// <summary>
/// Resident memory of a real module process (LoadGen, idle mode) connected to the broker, both ways in one run: on the JIT
/// (<c>dotnet exec</c>, the dev loop) and Native AOT (what the images ship: published once per source content under
/// <c>artifacts/aot/</c>, or <c>BENCH_IDLE_EXE</c>). The target applies to the AOT module.
/// </summary>
internal sealed class IdleMemoryBench : IBenchSuite
{
    private const long LimitBytes = 60L * 1024 * 1024;

    public string Name => "idle";

    public string Description => "idle module memory: LoadGen connected and idle, /proc RSS, JIT and Native AOT (target <= 60 MB, AOT)";

    public async Task<int> RunAsync(string[] args)
    {
        string? aot = Environment.GetEnvironmentVariable("BENCH_IDLE_EXE");
        if (aot is null && ModuleProcess.AotToolchainMissing() is { } missing)
        {
            Console.WriteLine($"(no AOT row: {missing})");
        }
        else
        {
            aot ??= await ModuleProcess.PublishAotAsync("tests/LoadGen/LoadGen.csproj", ["src/Edge.Runtime", "tests/LoadGen"], CancellationToken.None);
        }

        Console.WriteLine("| process | RSS (max of 5 samples after 5 s idle) | of which anonymous / shmem / file-backed | PSS | limit | ratio RSS (target <= 1.0x) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var jit = await MeasureAsync("LoadGen JIT (dotnet exec; idle, connected, twin synced)", ModuleProcess.BuiltDll("LoadGen"));
        if (aot is null)
        {
            return jit <= LimitBytes ? 0 : 1;
        }

        var native = await MeasureAsync("**LoadGen Native AOT (what ships; idle, connected, twin synced)**", aot);
        return native <= LimitBytes ? 0 : 1;
    }

    private static async Task<long> MeasureAsync(string label, string module)
    {
        using var dir = new TempDirectory("bench-idle");
        await using var broker = await TestBroker.StartAsync(dir.Path);
        var env = broker.ModuleEnvironment(Path.Combine(dir.Path, "state"));
        env["LoadGen__Mode"] = "Idle";
        env["RuntimeLogLevel"] = "warning";
        await using var p = ModuleProcess.Start(module, env);
        await RuntimeBenchHelpers.WaitAsync(() => broker.Connects.Any(c => c.Result == MqttConnectReasonCode.Success) && broker.ReportedPatches.Count > 0, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(5), TimeProvider.System, CancellationToken.None);
        var samples = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            samples.Add(p.RssBytes());
            await Task.Delay(TimeSpan.FromSeconds(1), TimeProvider.System, CancellationToken.None);
        }

        var rss = samples.Max();
        var status = File.ReadLines($"/proc/{p.Id}/status").ToList();
        double Kb(IEnumerable<string> lines, string key) => lines.Where(l => l.StartsWith(key, StringComparison.Ordinal)).Select(l => double.Parse(l.Split(' ', '\t').Where(x => x.Length > 0).ElementAt(1), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault() / 1024;
        var smaps = File.Exists($"/proc/{p.Id}/smaps_rollup") ? File.ReadLines($"/proc/{p.Id}/smaps_rollup").ToList() : [];
        Console.WriteLine($"| {label} | {rss / (1024.0 * 1024):0.0} MB | {Kb(status, "RssAnon:"):0.0} / {Kb(status, "RssShmem:"):0.0} / {Kb(status, "RssFile:"):0.0} MB | {Kb(smaps, "Pss:"):0.0} MB | 60 MB | {RuntimeBenchHelpers.Ratio(rss, LimitBytes)} |");
        return rss;
    }
}
