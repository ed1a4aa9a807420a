using Microsoft.Extensions.Time.Testing;

namespace CameraCapture.Tests;

public sealed class HealthTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    private CameraHealth NewHealth(double debounce = 0) => new("cam1", _time)
    {
        StallTimeout = TimeSpan.FromSeconds(10),
        FrozenTimeout = TimeSpan.FromSeconds(30),
        Debounce = TimeSpan.FromSeconds(debounce),
    };

    [Fact]
    public void Evaluate_FramesStop_StalledAfterTimeout()
    {
        var health = NewHealth();
        health.OnOpened();
        health.OnFrame(identical: false);
        health.Evaluate()!.State.ShouldBe(CameraState.Streaming);
        _time.Advance(TimeSpan.FromSeconds(9));
        health.Evaluate().ShouldBeNull();
        _time.Advance(TimeSpan.FromSeconds(1));
        var e = health.Evaluate().ShouldNotBeNull();
        (e.PreviousState, e.State).ShouldBe((CameraState.Streaming, CameraState.Stalled));
        e.Reason!.ShouldContain("no new frame");
        health.OnFrame(identical: false);
        health.Evaluate()!.State.ShouldBe(CameraState.Streaming);
    }

    [Fact]
    public void Evaluate_IdenticalFrames_FrozenAfterTimeout()
    {
        var health = NewHealth();
        health.OnOpened();
        health.OnFrame(identical: false);
        health.Evaluate()!.State.ShouldBe(CameraState.Streaming);
        for (var s = 0; s < 29; s++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            health.OnFrame(identical: true);
            health.Evaluate().ShouldBeNull();
        }

        _time.Advance(TimeSpan.FromSeconds(1));
        health.OnFrame(identical: true);
        health.Evaluate()!.State.ShouldBe(CameraState.Frozen);
        health.OnFrame(identical: false);
        health.Evaluate()!.State.ShouldBe(CameraState.Streaming);
    }

    [Fact]
    public void Evaluate_Flapping_DebouncedToOneEvent()
    {
        var health = NewHealth(debounce: 3);
        health.OnOpened();
        health.OnFrame(false);
        health.Evaluate().ShouldBeNull("streaming must hold 3 s first");
        _time.Advance(TimeSpan.FromSeconds(3));
        health.OnFrame(false);
        health.Evaluate()!.State.ShouldBe(CameraState.Streaming);

        // Lost and back within the debounce: no events.
        health.OnSourceLost("blip");
        health.Evaluate().ShouldBeNull();
        _time.Advance(TimeSpan.FromSeconds(1));
        health.OnOpened();
        health.OnFrame(false);
        health.Evaluate().ShouldBeNull();
        _time.Advance(TimeSpan.FromSeconds(5));
        health.OnFrame(false);
        health.Evaluate().ShouldBeNull();
        health.State.ShouldBe(CameraState.Streaming);
    }

    [Fact]
    public void Evaluate_OpenFailures_ReconnectingThenFailed()
    {
        var health = NewHealth();
        health.Evaluate().ShouldBeNull();
        health.State.ShouldBe(CameraState.Starting);
        health.OnOpenFailed("refused", permanent: false, attempt: 1);
        health.Evaluate()!.State.ShouldBe(CameraState.Reconnecting);
        health.OnOpenFailed("refused", permanent: false, attempt: 3);
        var e = health.Evaluate().ShouldNotBeNull();
        e.State.ShouldBe(CameraState.Failed);
        e.Reason.ShouldBe("refused");
    }

    [Fact]
    public void Evaluate_PermanentError_FailedAtOnce()
    {
        var health = NewHealth();
        health.OnOpenFailed("video file '/x.avi' does not exist", permanent: true, attempt: 1);
        health.Evaluate()!.State.ShouldBe(CameraState.Failed);
        health.LastError!.ShouldContain("does not exist");
    }
}
