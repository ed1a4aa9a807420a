using System.Net;
using System.Net.Sockets;

namespace Edge.TestSupport;

/// <summary>Loopback TCP ports for test servers.</summary>
public static class LoopbackPort
{
    /// <summary>A port that was free a moment ago (the OS picks it; bind soon after).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
