namespace CameraCapture;

/// <summary>Opens the real sources: OpenCV VideoCapture (V4L2, FFmpeg), image folders and the synthetic generator.</summary>
internal sealed class FrameSourceFactory : IFrameSourceFactory
{
    public IFrameSource Open(SourceSpec spec, CameraSettings camera, TimeProvider timeProvider) => spec.Kind switch
    {
        SourceKind.Synthetic => new SyntheticSource(spec, camera.Id, timeProvider),
        SourceKind.Folder => FolderSource.Open(spec.Location, camera.Loop),
        _ => VideoCaptureSource.Open(spec, camera),
    };
}
