using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Edge.Runtime.Client;

/// <summary>A refused or failed connection attempt.</summary>
internal sealed class EdgeHubConnectException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>A twin request answered with an error status, or not answered.</summary>
internal sealed class TwinException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>One line for a failure in the client's logs.</summary>
internal static class ClientErrors
{
    public static string Describe(Exception? ex) => ex switch
    {
        null => "unknown",
        TimeoutRejectedException => "timed out",
        BrokenCircuitException => "circuit open",
        EdgeHubConnectException e => e.Message,
        System.Net.Sockets.SocketException or System.Security.Authentication.AuthenticationException => ex.Message,
        _ => ex.InnerException is { } inner ? $"{ex.Message} ({inner.Message})" : ex.Message,
    };
}
