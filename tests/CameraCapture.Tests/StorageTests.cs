using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;

namespace CameraCapture.Tests;

public sealed class StorageTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "capture-storage-" + Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void Sequence_CleanRestart_ContinuesWithoutGap()
    {
        using (var store = new SequenceStore(_dir, "cam1"))
        {
            Enumerable.Range(0, 5).Select(_ => store.Next()).ShouldBe([1L, 2, 3, 4, 5]);
        }

        using var again = new SequenceStore(_dir, "cam1");
        again.Next().ShouldBe(6);
    }

    [Fact]
    public void Sequence_CrashWithoutDispose_NeverReusesANumber()
    {
        var first = new SequenceStore(_dir, "cam1");
        long last = 0;
        for (var i = 0; i < 1500; i++)
        {
            last = first.Next();
        }

        // No Dispose: the process "crashed". The reservation on disk already covers every number handed out.
        using var second = new SequenceStore(_dir, "cam1");
        var next = second.Next();
        next.ShouldBeGreaterThan(last);
        (next - last).ShouldBeLessThanOrEqualTo(SequenceStore.BlockSize);
    }

    [Fact]
    public void Sequence_CamerasAreIndependent()
    {
        using var a = new SequenceStore(_dir, "a");
        using var b = new SequenceStore(_dir, "b");
        a.Next();
        a.Next();
        b.Next().ShouldBe(1);
    }

    [Fact]
    public async Task FrameStore_Write_StoresBytesWithMatchingSha256()
    {
        var store = new FrameStore(_dir, new FakeTimeProvider());
        var bytes = RandomNumberGenerator.GetBytes(5000);
        var stored = await store.WriteAsync("cam1", 42, bytes, TestContext.Current.CancellationToken);
        File.ReadAllBytes(stored.Path).ShouldBe(bytes);
        stored.Size.ShouldBe(5000);
        stored.Sha256.ShouldBe(Convert.ToHexStringLower(SHA256.HashData(bytes)));
        Path.GetFileName(stored.Path).ShouldBe("000000000042.jpg");
    }

    [Fact]
    public async Task FrameStore_Cleanup_DeletesByAgeThenOldestOverQuota()
    {
        var now = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        var store = new FrameStore(_dir, new FakeTimeProvider(now));
        var paths = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var stored = await store.WriteAsync("cam1", i, new byte[1000], TestContext.Current.CancellationToken);
            File.SetLastWriteTimeUtc(stored.Path, now.UtcDateTime.AddSeconds(-100 + (i * 10)));
            paths.Add(stored.Path);
        }

        var foreign = Path.Combine(_dir, "cam1", "holiday.jpg");
        await File.WriteAllBytesAsync(foreign, new byte[5000], TestContext.Current.CancellationToken);
        File.SetLastWriteTimeUtc(foreign, now.UtcDateTime.AddDays(-1));

        // Ages 100, 90, 80, 70, 60, 50 s. Max age 75 s removes the first three; a 2,000 byte quota then removes one more.
        store.Cleanup(TimeSpan.FromSeconds(75), 2000).ShouldBe(4);
        paths.Select(File.Exists).ShouldBe([false, false, false, false, true, true]);
        File.Exists(foreign).ShouldBeTrue("files the store did not write are never deleted");
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
