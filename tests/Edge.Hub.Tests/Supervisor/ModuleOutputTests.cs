using Edge.Hub.Supervisor;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Edge.Hub.Tests.Supervisor;

public sealed class ModuleOutputTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "edge-output-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task PumpAsync_Lines_WrittenTimestampedAndPassedToCallback()
    {
        var seen = new List<(string, string)>();
        var path = Path.Combine(_dir, "logs", "m.log");
        using var output = new ModuleOutput("m", path, 4096, (id, line) => seen.Add((id, line)), new FakeTimeProvider(), NullLogger.Instance);

        using var reader = new StreamReader(new MemoryStream("one\ntwo\n"u8.ToArray()));
        await output.PumpAsync(reader, "stdout", TestContext.Current.CancellationToken);

        seen.ShouldBe([("m", "one"), ("m", "two")]);
        File.ReadAllLines(path).ShouldBe(["2000-01-01T00:00:00.000Z stdout: one", "2000-01-01T00:00:00.000Z stdout: two"]);
    }

    [Fact]
    public void Write_BeyondMaxBytes_RollsOnceToDotOne()
    {
        var path = Path.Combine(_dir, "m.log");
        using var output = new ModuleOutput("m", path, 4096, null, new FakeTimeProvider(), NullLogger.Instance);

        for (var i = 0; i < 300; i++)
        {
            output.Write("stdout", $"line {i:000} " + new string('x', 40));
        }

        new FileInfo(path).Length.ShouldBeLessThanOrEqualTo(4096);
        File.Exists(path + ".1").ShouldBeTrue();
        File.ReadAllLines(path).Last().ShouldContain("line 299");
        File.Exists(path + ".2").ShouldBeFalse();
    }

    [Fact]
    public void FormatTable_Statuses_AlignedWithPeakMemory()
    {
        var table = ModuleStatus.FormatTable(
        [
            new("CameraCapture", "running", null, 4242, null, null, 0, 50L * 1024 * 1024, 64L * 1024 * 1024, null),
            new("Inference", "failed", 1, null, null, null, 3, null, 128L * 1024 * 1024, "boom"),
        ]);

        var lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Length.ShouldBe(3);
        lines[0].ShouldStartWith("MODULE         STATUS   PID   RESTARTS  EXIT  RSS       PEAK RSS   ERROR");
        lines[1].ShouldBe("CameraCapture  running  4242  0         -     50.0 MiB  64.0 MiB");
        lines[2].ShouldBe("Inference      failed   -     3         1     -         128.0 MiB  boom");
    }
}
