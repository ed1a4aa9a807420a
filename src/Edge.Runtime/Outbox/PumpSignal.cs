using System.Threading.Tasks.Sources;

namespace Edge.Runtime.Outbox;

/// <summary>
/// An auto-reset signal with a single waiter (the pump). Unlike <see cref="SemaphoreSlim"/>, a setter may run the waiter's
/// continuation on its own thread (<c>runWaiterInline</c>): a publish completion resumes the pump without another thread hop.
/// </summary>
internal sealed class PumpSignal : IValueTaskSource
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;
    private ManualResetValueTaskSourceCore<bool> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _ct;
    private int _state;

    public void Set(bool runWaiterInline)
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signaled:
                    return;
                case Idle:
                    if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
                    {
                        return;
                    }

                    break;
                default:
                    if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
                    {
                        _core.RunContinuationsAsynchronously = !runWaiterInline;
                        _core.SetResult(true);
                        return;
                    }

                    break;
            }
        }
    }

    /// <summary>Completes when set (at once if set since the last wait). One waiter at a time.</summary>
    public ValueTask WaitAsync(CancellationToken ct)
    {
        while (true)
        {
            if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
            {
                return ValueTask.CompletedTask;
            }

            ct.ThrowIfCancellationRequested();
            _core.Reset();
            _ct = ct;
            if (Interlocked.CompareExchange(ref _state, Waiting, Idle) == Idle)
            {
                _registration = ct.CanBeCanceled ? ct.UnsafeRegister(static s => ((PumpSignal)s!).Cancel(), this) : default;
                return new ValueTask(this, _core.Version);
            }
        }
    }

    private void Cancel()
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.RunContinuationsAsynchronously = true;
            _core.SetException(new OperationCanceledException(_ct));
        }
    }

    void IValueTaskSource.GetResult(short token)
    {
        // Unregister (not Dispose): this may run inside the cancellation callback, which Dispose would wait for.
        _registration.Unregister();
        _core.GetResult(token);
    }

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
