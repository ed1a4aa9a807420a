namespace Edge.Hub;

/// <summary>A direct method call failed the way IoT Hub reports it: HTTP status plus a 6-digit error code.</summary>
public sealed class MethodInvocationException : Exception
{
    public MethodInvocationException()
    {
    }

    public MethodInvocationException(string message)
        : base(message)
    {
    }

    public MethodInvocationException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public MethodInvocationException(int status, int errorCode, string message)
        : base(message)
    {
        Status = status;
        ErrorCode = errorCode;
    }

    /// <summary>HTTP status: 404 (not connected) or 504 (no answer in time).</summary>
    public int Status { get; }

    /// <summary>IoT Hub error code: 404103 DeviceNotOnline, 504101 GatewayTimeout.</summary>
    public int ErrorCode { get; }
}
