using OpenCvSharp;

namespace CameraCapture;

/// <summary>
/// Feeds a camera's <see cref="CameraHealth"/> from the pacing loop (each frame, with whether it is the same picture as the
/// previous one: a frozen camera) and publishes its state changes (logged, and sent through the module's health output).
/// </summary>
internal sealed class CameraHealthMonitor(string cameraId, CameraHealth health, PipelineContext context) : IDisposable
{
    private readonly FrameFingerprint _fingerprint = new();

    public void OnFrame(Mat frame) => health.OnFrame(_fingerprint.SameAsPrevious(frame));

    /// <summary>A frame or the source had a problem that does not stop the camera.</summary>
    public void OnWarning(string message) => health.OnWarning(message);

    /// <summary>Evaluates the health now; publishes a change if there is one.</summary>
    public async Task EvaluateAsync(CancellationToken ct)
    {
        if (health.Evaluate() is not { } change)
        {
            return;
        }

        if (change.State is CameraState.Streaming or CameraState.Starting)
        {
            Log.HealthRecovered(context.Logger, cameraId, change.PreviousState, change.State);
        }
        else
        {
            Log.HealthChanged(context.Logger, cameraId, change.PreviousState, change.State, change.Reason);
        }

        try
        {
            await context.PublishHealth(change, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.HealthSendFailed(context.Logger, cameraId, ex);
        }
    }

    public void Dispose() => _fingerprint.Dispose();
}
