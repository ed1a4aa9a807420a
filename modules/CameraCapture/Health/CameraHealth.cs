namespace CameraCapture;

/// <summary>A camera's health.</summary>
public enum CameraState
{
    /// <summary>Opening the source for the first time.</summary>
    Starting,

    /// <summary>New, changing frames arrive.</summary>
    Streaming,

    /// <summary>No new frame within the stall timeout.</summary>
    Stalled,

    /// <summary>Frames arrive but have been identical for the frozen timeout.</summary>
    Frozen,

    /// <summary>The source was lost or could not be opened; retrying with backoff.</summary>
    Reconnecting,

    /// <summary>The source cannot work as configured (missing file, unsupported codec, repeated failures); still retried slowly.</summary>
    Failed,
}

/// <summary>A debounced state change, sent as JSON on the <c>health</c> output.</summary>
internal sealed record HealthEvent(string CameraId, CameraState State, CameraState PreviousState, DateTimeOffset At, DateTimeOffset? LastFrameAt, string? Reason);

/// <summary>
/// Derives a camera's state from source events and frames, and publishes a state only after it has held for the debounce
/// period, so a flapping source yields one event, not a storm. Not thread-safe: called from the camera's pacing loop,
/// except the source events, which are serialised by <see cref="_gate"/>.
/// </summary>
internal sealed class CameraHealth
{
    private const int AttemptsBeforeFailed = 3;

    private readonly string _cameraId;
    private readonly TimeProvider _timeProvider;
    private readonly Lock _gate = new();
    private Connection _connection = Connection.Opening;
    private bool _everFailed;
    private DateTimeOffset _openedAt;
    private DateTimeOffset? _lastFrameAt;
    private DateTimeOffset? _lastChangeAt;
    private CameraState _raw = CameraState.Starting;
    private DateTimeOffset _rawSince;

    public CameraHealth(string cameraId, TimeProvider timeProvider)
    {
        _cameraId = cameraId;
        _timeProvider = timeProvider;
        _rawSince = _openedAt = timeProvider.GetUtcNow();
    }

    private enum Connection
    {
        Opening,
        Open,
        Failing,
        Failed,
    }

    /// <summary>The published (debounced) state.</summary>
    public CameraState State { get; private set; } = CameraState.Starting;

    /// <summary>The most recent problem, cleared when frames flow again.</summary>
    public string? LastError { get; private set; }

    public DateTimeOffset? LastFrameAt => _lastFrameAt;

    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan FrozenTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan Debounce { get; set; } = TimeSpan.FromSeconds(2);

    public void OnOpenFailed(string error, bool permanent, int attempt)
    {
        lock (_gate)
        {
            _everFailed = true;
            _connection = permanent || attempt >= AttemptsBeforeFailed ? Connection.Failed : Connection.Failing;
            LastError = error;
        }
    }

    public void OnOpened()
    {
        lock (_gate)
        {
            _connection = Connection.Open;
            _openedAt = _timeProvider.GetUtcNow();
            _lastChangeAt = null;
        }
    }

    public void OnSourceLost(string error)
    {
        lock (_gate)
        {
            _everFailed = true;
            _connection = Connection.Failing;
            LastError = error;
        }
    }

    /// <summary>Records a new frame; <paramref name="identical"/> when its fingerprint equals the previous frame's.</summary>
    public void OnFrame(bool identical)
    {
        lock (_gate)
        {
            var now = _timeProvider.GetUtcNow();
            _lastFrameAt = now;
            if (!identical || _lastChangeAt is null)
            {
                _lastChangeAt = now;
            }

            if (_connection == Connection.Open && !identical)
            {
                LastError = null;
            }
        }
    }

    /// <summary>Notes a problem that does not change the state by itself (e.g. an image that could not be read).</summary>
    public void OnWarning(string error)
    {
        lock (_gate)
        {
            LastError = error;
        }
    }

    /// <summary>Re-evaluates the state; returns an event when the published state changes.</summary>
    public HealthEvent? Evaluate()
    {
        lock (_gate)
        {
            var now = _timeProvider.GetUtcNow();
            var raw = RawState(now);
            if (raw != _raw)
            {
                _raw = raw;
                _rawSince = now;
            }

            if (_raw == State || now - _rawSince < Debounce)
            {
                return null;
            }

            var previous = State;
            State = _raw;
            return new HealthEvent(_cameraId, State, previous, now, _lastFrameAt, Reason(State));
        }
    }

    private CameraState RawState(DateTimeOffset now)
    {
        switch (_connection)
        {
            case Connection.Failed:
                return CameraState.Failed;
            case Connection.Failing:
                return CameraState.Reconnecting;
            case Connection.Opening:
                return _everFailed ? CameraState.Reconnecting : CameraState.Starting;
        }

        if (_lastFrameAt is null || _lastFrameAt < _openedAt)
        {
            return now - _openedAt >= StallTimeout ? CameraState.Stalled : _everFailed ? CameraState.Reconnecting : CameraState.Starting;
        }

        if (now - _lastFrameAt.Value >= StallTimeout)
        {
            return CameraState.Stalled;
        }

        return _lastChangeAt is { } changed && now - changed >= FrozenTimeout ? CameraState.Frozen : CameraState.Streaming;
    }

    private string? Reason(CameraState state) => state switch
    {
        CameraState.Stalled => LastError ?? $"no new frame for {StallTimeout.TotalSeconds:0.#} s",
        CameraState.Frozen => $"identical frames for {FrozenTimeout.TotalSeconds:0.#} s",
        CameraState.Reconnecting or CameraState.Failed => LastError,
        _ => null,
    };
}
