using System.Buffers.Binary;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using System.Threading.Channels;
using Edge.Protocol.Mqtt;

namespace Edge.Runtime.Mqtt;

/// <summary>How to reach and log in to the server.</summary>
internal sealed record MqttClientOptions
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required string ClientId { get; init; }

    public required string UserName { get; init; }

    public required string Password { get; init; }

    public bool CleanSession { get; init; }

    /// <summary>Sent in CONNECT; a PINGREQ goes out after a quarter of it without traffic (what the Azure IoT SDK does).</summary>
    public TimeSpan KeepAlive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a PUBACK, SUBACK or PINGRESP may take before the connection is considered dead and closed.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Validates the server's certificate (the caller's trust bundle and host name check).</summary>
    public required RemoteCertificateValidationCallback ValidateServerCertificate { get; init; }

    /// <summary>Largest packet accepted from the server; a larger one closes the connection.</summary>
    public int MaxIncomingPacketBytes { get; init; } = 4 * 1024 * 1024;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>A PUBLISH from the server. Complete <see cref="Ack"/> once it is handled (QoS 1: that sends the PUBACK, in arrival order).</summary>
internal readonly record struct MqttIncomingMessage(string Topic, byte[] Payload, MqttAck Ack);

/// <summary>
/// The acknowledgement of one received PUBLISH. PUBACKs go out in the order the PUBLISHes arrived (MQTT 3.1.1 §4.6), each once
/// its own message and every earlier one are completed; one completed with <c>false</c> gets no PUBACK (the server redelivers it).
/// </summary>
internal sealed class MqttAck
{
    /// <summary>The acknowledgement of a QoS 0 message: completing it does nothing.</summary>
    public static readonly MqttAck None = new(null, 0);

    private readonly MqttClientConnection? _connection;
    private int _state;

    internal MqttAck(MqttClientConnection? connection, ushort packetId)
    {
        _connection = connection;
        PacketId = packetId;
    }

    internal ushort PacketId { get; }

    /// <summary>0 pending, 1 acknowledge, 2 skip.</summary>
    internal int State => Volatile.Read(ref _state);

    /// <summary>Marks the message handled (<paramref name="acknowledge"/>: send its PUBACK). Later calls are ignored.</summary>
    public void Complete(bool acknowledge)
    {
        if (_connection is not null && Interlocked.CompareExchange(ref _state, acknowledge ? 1 : 2, 0) == 0)
        {
            _connection.SendCompletedAcks();
        }
    }
}

/// <summary>The server answered CONNECT with a non-zero CONNACK return code.</summary>
internal sealed class MqttConnectRefusedException(byte code) : Exception($"CONNACK {Describe(code)}")
{
    public byte Code { get; } = code;

    /// <summary>The MQTT 3.1.1 name of a CONNACK return code (§3.2.2.3).</summary>
    public static string Describe(byte code) => code switch
    {
        1 => "UnacceptableProtocolVersion",
        2 => "IdentifierRejected",
        3 => "ServerUnavailable",
        4 => "BadUserNameOrPassword",
        5 => "NotAuthorized",
        _ => $"return code {code}",
    };
}

/// <summary>Thrown into every operation still waiting when the connection closes.</summary>
internal sealed class MqttConnectionClosedException(string reason) : IOException($"connection closed: {reason}");

/// <summary>
/// One MQTT 3.1.1 client connection over TLS: CONNECT/CONNACK, SUBSCRIBE, PUBLISH at QoS 0 and 1 (the task completes on
/// PUBACK), received PUBLISHes handed to one dispatcher in arrival order with PUBACKs sent only once they are handled, keep-alive
/// pings, and a response timeout that closes a connection whose server stopped answering. No reconnect logic: a closed connection
/// stays closed (<see cref="Closed"/>); the owner connects a new one. Packets are parsed straight from a pooled read buffer and
/// written by a coalescing <see cref="MqttPacketWriter"/>: one TLS write carries everything queued meanwhile.
/// </summary>
internal sealed class MqttClientConnection : IAsyncDisposable
{
    private const int MaxSendBacklog = 64 * 1024 * 1024;

    /// <summary>Packet ids 1..0x7FFF, wrapping, never 0 (what the Azure IoT SDK uses).</summary>
    private const int MaxPacketId = 0x7FFF;

    private readonly MqttClientOptions _options;
    private readonly SslStream _ssl;
    private readonly MqttPacketWriter _writer;
    private readonly Func<MqttIncomingMessage, ValueTask> _onMessage;
    private readonly Channel<MqttIncomingMessage> _incoming = Channel.CreateUnbounded<MqttIncomingMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly TaskCompletionSource<string> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<byte> _connAck = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _pendingLock = new();
    private readonly Dictionary<ushort, Pending> _pending = [];
    private readonly Lock _ackLock = new();
    private readonly Queue<MqttAck> _acks = new();
    private readonly ITimer _timer;
    private int _nextPacketId;
    private long _lastSent;
    private long _lastReceived;
    private long _pingSentAt;
    private int _closing;
    private Task _readLoop = Task.CompletedTask;
    private Task _dispatchLoop = Task.CompletedTask;

    private MqttClientConnection(MqttClientOptions options, SslStream ssl, Func<MqttIncomingMessage, ValueTask> onMessage)
    {
        _options = options;
        _ssl = ssl;
        _onMessage = onMessage;
        _writer = new MqttPacketWriter(ssl, MaxSendBacklog, ex => Close("write failed: " + ex.Message));
        _lastSent = _lastReceived = options.Time.GetTimestamp();
        var tick = TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, options.KeepAlive.Ticks / 4));
        _timer = options.Time.CreateTimer(static s => ((MqttClientConnection)s!).OnTimer(), this, tick, tick);
    }

    /// <summary>Completes with the reason once the connection is closed (by either side, a failure or a timeout).</summary>
    public Task<string> Closed => _closed.Task;

    public bool IsConnected => !_closed.Task.IsCompleted;

    /// <summary>
    /// Opens TCP and TLS, sends CONNECT and waits for CONNACK (bounded by <paramref name="ct"/>). <paramref name="onMessage"/>
    /// receives the server's PUBLISHes one at a time, in order. Throws <see cref="MqttConnectRefusedException"/> on a refusal,
    /// <see cref="AuthenticationException"/> when TLS fails, <see cref="SocketException"/> when the server cannot be reached.
    /// </summary>
    public static async Task<MqttClientConnection> ConnectAsync(MqttClientOptions options, Func<MqttIncomingMessage, ValueTask> onMessage, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? ssl = null;
        MqttClientConnection? connection = null;
        try
        {
            await socket.ConnectAsync(options.Host, options.Port, ct).ConfigureAwait(false);
            ssl = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = options.Host,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    RemoteCertificateValidationCallback = options.ValidateServerCertificate,
                },
                ct).ConfigureAwait(false);
            connection = new MqttClientConnection(options, ssl, onMessage);
            connection._readLoop = Task.Run(connection.ReadLoopAsync, CancellationToken.None);
            connection._dispatchLoop = Task.Run(connection.DispatchLoopAsync, CancellationToken.None);
            connection.SendConnect();
            using (ct.UnsafeRegister(static s => ((MqttClientConnection)s!).Close("connect cancelled"), connection))
            {
                // A refusal is a CONNACK followed by the server closing: the CONNACK wins when both are in.
                await Task.WhenAny(connection._connAck.Task, connection._closed.Task).ConfigureAwait(false);
                if (!connection._connAck.Task.IsCompleted)
                {
                    ct.ThrowIfCancellationRequested();
                    throw new MqttConnectionClosedException(connection._closed.Task.Result);
                }

                var code = connection._connAck.Task.Result;
                if (code != 0)
                {
                    throw new MqttConnectRefusedException(code);
                }
            }

            ct.ThrowIfCancellationRequested();
            return connection;
        }
        catch
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else if (ssl is not null)
            {
                await ssl.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }

            throw;
        }
    }

    /// <summary>Subscribes one filter; returns the granted QoS (0x80: refused).</summary>
    public async Task<byte> SubscribeAsync(string filter, int qos, CancellationToken ct)
    {
        var length = Encoding.UTF8.GetByteCount(filter);
        var remaining = 2 + 2 + length + 1;
        var pending = Register(ct, inline: false);
        var queued = _writer.Send(MqttCodec.FixedHeaderLength(remaining) + remaining, (pending.PacketId, filter, qos, remaining), static (span, s) =>
        {
            var o = MqttCodec.WriteFixedHeader(span, 0x82, s.remaining);
            BinaryPrimitives.WriteUInt16BigEndian(span[o..], s.PacketId);
            o = MqttCodec.WriteString(span, o + 2, s.filter);
            span[o] = (byte)s.qos;
        });
        Sent(queued, pending);
        return (byte)await pending.Task.ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes at QoS 1 (completes on PUBACK; its continuation may run on the read loop, so keep it short) or QoS 0 (completes
    /// once queued). Throws <see cref="MqttConnectionClosedException"/> when the connection is or gets closed first.
    /// </summary>
    public Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, bool atLeastOnce, CancellationToken ct)
    {
        var topicLength = Encoding.UTF8.GetByteCount(topic);
        if (topicLength > ushort.MaxValue)
        {
            throw new ArgumentException("Topic longer than 65535 bytes.", nameof(topic));
        }

        var qos = atLeastOnce ? MqttQos.AtLeastOnce : MqttQos.AtMostOnce;
        var remaining = MqttCodec.PublishRemainingLength(topicLength, qos, payload.Length);
        var total = MqttCodec.FixedHeaderLength(remaining) + remaining;
        if (!atLeastOnce)
        {
            var result = _writer.Send(total, (topic, payload, remaining), static (span, s) =>
                MqttCodec.WritePublish(span, s.topic, MqttQos.AtMostOnce, 0, s.payload.Span, s.remaining));
            if (result != QueueResult.Queued)
            {
                return Task.FromException(NotQueued(result));
            }

            Volatile.Write(ref _lastSent, _options.Time.GetTimestamp());
            return Task.CompletedTask;
        }

        var pending = Register(ct, inline: true);
        var queued = _writer.Send(total, (pending.PacketId, topic, payload, remaining), static (span, s) =>
            MqttCodec.WritePublish(span, s.topic, MqttQos.AtLeastOnce, s.PacketId, s.payload.Span, s.remaining));
        Sent(queued, pending);
        return pending.Task;
    }

    /// <summary>Sends DISCONNECT, waits briefly for it to be written, and closes.</summary>
    public async Task DisconnectAsync(CancellationToken ct)
    {
        if (IsConnected && _writer.Send(2, 0, static (span, _) =>
        {
            span[0] = 0xE0;
            span[1] = 0;
        }) == QueueResult.Queued)
        {
            try
            {
                await _writer.DrainAsync(ct).WaitAsync(TimeSpan.FromSeconds(2), _options.Time, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Closing anyway.
            }
        }

        Close("disconnected by the client");
    }

    public async ValueTask DisposeAsync()
    {
        Close("disposed");
        try
        {
            await Task.WhenAll(_readLoop, _dispatchLoop).WaitAsync(TimeSpan.FromSeconds(5), _options.Time, CancellationToken.None).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A handler that does not return; the connection is closed regardless.
        }

        _ssl.Dispose();
    }

    // ---------------------------------------------------------------- receive side

    private async Task ReadLoopAsync()
    {
        var reason = "closed by the server";
        try
        {
            var reader = new MqttPacketReader(_ssl, _options.MaxIncomingPacketBytes, () => Volatile.Write(ref _lastReceived, _options.Time.GetTimestamp()));
            reason = await reader.RunAsync(Handle).ConfigureAwait(false) switch
            {
                ReadEnd.Malformed => "protocol error: remaining length over 4 bytes",
                ReadEnd.TooLarge => string.Create(CultureInfo.InvariantCulture, $"protocol error: a {reader.LastLength:N0}-byte packet from the server (limit {_options.MaxIncomingPacketBytes:N0})"),
                _ => reason,
            };
        }
        catch (InvalidDataException ex)
        {
            reason = "protocol error: " + ex.Message;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or NotSupportedException)
        {
            reason = ex.Message;
        }
        finally
        {
            Close(reason);
        }
    }

    /// <summary>Handles one packet from the server; throws <see cref="InvalidDataException"/> on a protocol violation.</summary>
    private ValueTask<bool> Handle(byte header, ReadOnlySpan<byte> body)
    {
        var type = (MqttPacketType)(header >> 4);
        if (!_connAck.Task.IsCompleted && type != MqttPacketType.ConnAck)
        {
            throw new InvalidDataException($"{type} before CONNACK");
        }

        switch (type)
        {
            case MqttPacketType.ConnAck when body.Length == 2 && !_connAck.Task.IsCompleted:
                _connAck.TrySetResult(body[1]);
                break;
            case MqttPacketType.Publish:
                HandlePublish(header, body);
                break;
            case MqttPacketType.PubAck when body.Length == 2:
            case MqttPacketType.UnsubAck when body.Length == 2:
                Complete(BinaryPrimitives.ReadUInt16BigEndian(body), 0);
                break;
            case MqttPacketType.SubAck when body.Length >= 3:
                Complete(BinaryPrimitives.ReadUInt16BigEndian(body), body[2]);
                break;
            case MqttPacketType.PingResp when body.Length == 0:
                Volatile.Write(ref _pingSentAt, 0);
                break;
            default:
                throw new InvalidDataException($"unexpected {type} packet ({body.Length} bytes)");
        }

        return new ValueTask<bool>(true);
    }

    private void HandlePublish(byte header, ReadOnlySpan<byte> body)
    {
        var qos = (header >> 1) & 3;
        if (qos > 1)
        {
            throw new InvalidDataException($"PUBLISH with QoS {qos}");
        }

        var o = 0;
        if (!MqttCodec.TryReadString(body, ref o, out var topic))
        {
            throw new InvalidDataException("bad PUBLISH topic");
        }

        var ack = MqttAck.None;
        if (qos == 1)
        {
            if (!MqttCodec.TryReadUInt16(body, ref o, out var id))
            {
                throw new InvalidDataException("PUBLISH without a packet id");
            }

            ack = new MqttAck(this, id);
            lock (_ackLock)
            {
                _acks.Enqueue(ack);
            }
        }

        _incoming.Writer.TryWrite(new MqttIncomingMessage(topic, body[o..].ToArray(), ack));
    }

    private async Task DispatchLoopAsync()
    {
        try
        {
            await foreach (var message in _incoming.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                await _onMessage(message).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // A handler failure: without its PUBACK nothing later can be acknowledged in order; the server redelivers.
            Close("message handler failed: " + ex.Message);
        }
    }

    /// <summary>Sends the PUBACKs at the head of the arrival queue whose messages are completed (one write).</summary>
    internal void SendCompletedAcks()
    {
        var queued = false;
        lock (_ackLock)
        {
            while (_acks.TryPeek(out var head) && head.State != 0)
            {
                _acks.Dequeue();
                if (head.State == 1)
                {
                    queued |= _writer.Queue(4, head.PacketId, static (span, id) => MqttCodec.WritePubAck(span, id)) == QueueResult.Queued;
                }
            }
        }

        if (queued)
        {
            Volatile.Write(ref _lastSent, _options.Time.GetTimestamp());
            _writer.Flush();
        }
    }

    // ---------------------------------------------------------------- requests waiting for an answer

    private Pending Register(CancellationToken ct, bool inline)
    {
        Pending pending;
        lock (_pendingLock)
        {
            if (_pending.Count >= MaxPacketId)
            {
                throw new InvalidOperationException("all MQTT packet ids are in use");
            }

            var id = _nextPacketId;
            do
            {
                id = id >= MaxPacketId ? 1 : id + 1;
            }
            while (_pending.ContainsKey((ushort)id));
            _nextPacketId = id;
            pending = new Pending(this, (ushort)id, _options.Time.GetTimestamp(), inline);
            _pending.Add((ushort)id, pending);
        }

        if (ct.CanBeCanceled)
        {
            pending.Registration = ct.UnsafeRegister(static s => ((Pending)s!).Cancel(), pending);
        }

        return pending;
    }

    private void Sent(QueueResult queued, Pending pending)
    {
        if (queued == QueueResult.Queued)
        {
            Volatile.Write(ref _lastSent, _options.Time.GetTimestamp());
            if (!IsConnected)
            {
                // Closed between registering and queuing: Close may have failed the pending table before this one was in it.
                Fail(pending, new MqttConnectionClosedException(_closed.Task.Result));
            }

            return;
        }

        Fail(pending, NotQueued(queued));
    }

    private Exception NotQueued(QueueResult result) => result == QueueResult.Full
        ? new MqttConnectionClosedException("send backlog full")
        : new MqttConnectionClosedException(_closed.Task.IsCompleted ? _closed.Task.Result : "closing");

    private void Complete(ushort id, int result)
    {
        Pending? pending;
        lock (_pendingLock)
        {
            if (!_pending.Remove(id, out pending))
            {
                return;
            }
        }

        pending.Registration.Unregister();
        pending.TrySetResult(result);
    }

    private void Fail(Pending pending, Exception error)
    {
        lock (_pendingLock)
        {
            if (!_pending.TryGetValue(pending.PacketId, out var current) || !ReferenceEquals(current, pending))
            {
                return;
            }

            _pending.Remove(pending.PacketId);
        }

        pending.Registration.Unregister();
        if (error is OperationCanceledException oce)
        {
            pending.TrySetCanceled(oce.CancellationToken);
        }
        else
        {
            pending.TrySetException(error);
        }
    }

    // ---------------------------------------------------------------- keep-alive, timeouts, closing

    private void OnTimer()
    {
        if (!IsConnected)
        {
            return;
        }

        var time = _options.Time;
        var pingSentAt = Volatile.Read(ref _pingSentAt);
        if (pingSentAt != 0 && time.GetElapsedTime(pingSentAt) > _options.ResponseTimeout)
        {
            Close(string.Create(CultureInfo.InvariantCulture, $"no PINGRESP within {_options.ResponseTimeout.TotalSeconds:0.#} s"));
            return;
        }

        long oldest = 0;
        lock (_pendingLock)
        {
            if (_pending.Count > 0)
            {
                oldest = long.MaxValue;
                foreach (var p in _pending.Values)
                {
                    oldest = Math.Min(oldest, p.SentAt);
                }
            }
        }

        if (oldest != 0 && time.GetElapsedTime(oldest) > _options.ResponseTimeout)
        {
            Close(string.Create(CultureInfo.InvariantCulture, $"no PUBACK/SUBACK within {_options.ResponseTimeout.TotalSeconds:0.#} s"));
            return;
        }

        var idle = _options.KeepAlive / 4;
        if (pingSentAt == 0 && _connAck.Task.IsCompleted &&
            (time.GetElapsedTime(Volatile.Read(ref _lastSent)) >= idle || time.GetElapsedTime(Volatile.Read(ref _lastReceived)) >= idle))
        {
            Volatile.Write(ref _pingSentAt, time.GetTimestamp());
            if (_writer.Send(2, 0, static (span, _) =>
            {
                span[0] = 0xC0;
                span[1] = 0;
            }) == QueueResult.Queued)
            {
                Volatile.Write(ref _lastSent, time.GetTimestamp());
            }
        }
    }

    private void SendConnect()
    {
        var o = _options;
        var clientId = Encoding.UTF8.GetByteCount(o.ClientId);
        var user = Encoding.UTF8.GetByteCount(o.UserName);
        var password = Encoding.UTF8.GetByteCount(o.Password);
        var remaining = 10 + 2 + clientId + 2 + user + 2 + password;
        var keepAlive = (ushort)Math.Clamp((int)o.KeepAlive.TotalSeconds, 0, ushort.MaxValue);
        _writer.Send(MqttCodec.FixedHeaderLength(remaining) + remaining, (o, remaining, keepAlive), static (span, s) =>
        {
            var i = MqttCodec.WriteFixedHeader(span, 0x10, s.remaining);
            i = MqttCodec.WriteString(span, i, "MQTT");
            span[i++] = 4; // protocol level 3.1.1
            span[i++] = (byte)(0xC0 | (s.o.CleanSession ? 0x02 : 0)); // user name, password
            BinaryPrimitives.WriteUInt16BigEndian(span[i..], s.keepAlive);
            i = MqttCodec.WriteString(span, i + 2, s.o.ClientId);
            i = MqttCodec.WriteString(span, i, s.o.UserName);
            MqttCodec.WriteString(span, i, s.o.Password);
        });
    }

    /// <summary>Closes now (idempotent): stops writing, fails every waiting request, ends the dispatcher after what was received.</summary>
    private void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _writer.Close();
        _timer.Dispose();
        _closed.TrySetResult(reason);
        try
        {
            _ssl.Dispose();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
        }

        _incoming.Writer.TryComplete();
        List<Pending> failed;
        lock (_pendingLock)
        {
            failed = [.. _pending.Values];
            _pending.Clear();
        }

        foreach (var p in failed)
        {
            p.Registration.Unregister();
            p.TrySetException(new MqttConnectionClosedException(reason));
        }
    }

    /// <summary>A request waiting for its PUBACK/SUBACK by packet id.</summary>
    private sealed class Pending(MqttClientConnection owner, ushort packetId, long sentAt, bool inline)
        : TaskCompletionSource<int>(inline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ushort PacketId { get; } = packetId;

        public long SentAt { get; } = sentAt;

        public CancellationTokenRegistration Registration { get; set; }

        public void Cancel() => owner.Fail(this, new OperationCanceledException());
    }
}
