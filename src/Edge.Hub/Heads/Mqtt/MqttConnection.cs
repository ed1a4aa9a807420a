using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Edge.Hub.IoTHub;
using Edge.Protocol.Mqtt;

namespace Edge.Hub.Heads.Mqtt;

/// <summary>
/// One MQTT 3.1.1 connection over TLS: the wire protocol only; what a packet means for the hub (who may connect, publish or
/// subscribe, where a message goes) is decided by <see cref="IoTHubProtocol"/>. The read loop parses packets straight from a pooled buffer (several per TLS record, or one
/// spread over many reads) and handles them in order; everything sent to the client is appended to one buffer and written by a
/// single writer, started inline by whoever queues the first bytes, so packets that queue up while a write is in progress go out
/// together in the next TLS write. PUBACKs to a publisher leave in arrival order, each only once its message is stored.
/// </summary>
internal sealed class MqttConnection : IClientLink, IDisposable
{
    private const int MaxSendBacklog = 64 * 1024 * 1024;

    // A client with this many PUBLISHes waiting for their commit is paced: its next packet is read once the newest is stored.
    private const int MaxHeldAcks = 256;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan MaxKeepAliveTimeout = TimeSpan.FromMinutes(10);

    private readonly MqttHead _head;
    private readonly IoTHubProtocol _iotHub;
    private readonly Socket _socket;
    private readonly long _id;
    private readonly CancellationTokenSource _closing = new();
    private SslStream? _ssl;
    private ITimer? _timer;
    private TimeSpan _idleLimit = ConnectTimeout;
    private TimeSpan _keepAlive;
    private long _lastActivity;
    private int _closed;
    private string? _closeReason;
    private ClientState? _state;
    private string _clientId = "(connecting)";

    // Send side: created once TLS is up.
    private MqttPacketWriter? _writer;

    // PUBACKs held until their message is stored: created with the writer.
    private HeldPubAcks? _heldAcks;

    public MqttConnection(MqttHead head, Socket socket, long id)
    {
        _head = head;
        _iotHub = head.IoTHub;
        _socket = socket;
        _id = id;
    }

    /// <summary>Completes when the connection is closed and the hub has forgotten it.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    public void Start() => Completion = Task.Run(RunAsync);

    /// <summary>Closes the connection now (queued bytes that are not written yet are dropped).</summary>
    public void Abort(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _closeReason = reason;
        _writer?.Close();

        _timer?.Dispose();
        try
        {
            _closing.Cancel();
        }
        catch (AggregateException)
        {
            // A cancellation callback failed; the connection closes anyway.
        }

        _socket.Dispose();
    }

    public void Dispose() => Abort("disposed");

    /// <summary>Queues a PUBLISH; false when the connection is closed (or its client stopped reading).</summary>
    public bool Send(string topic, byte[] payload, MqttQos qos, ushort packetId)
    {
        var topicBytes = Encoding.UTF8.GetByteCount(topic);
        if (topicBytes > ushort.MaxValue)
        {
            throw new ArgumentException("Topic longer than 65535 bytes.", nameof(topic));
        }

        var remaining = MqttCodec.PublishRemainingLength(topicBytes, qos, payload.Length);
        var writer = _writer;
        var result = writer is null
            ? QueueResult.Closed
            : writer.Send(MqttCodec.FixedHeaderLength(remaining) + remaining, (topic, payload, qos, packetId, remaining), static (span, s) =>
                MqttCodec.WritePublish(span, s.topic, s.qos, s.packetId, s.payload, s.remaining));
        if (result == QueueResult.Full)
        {
            MqttHeadLog.SendBacklog(_head.Logger, _clientId, writer!.Backlog);
            Abort("client not reading");
        }

        return result == QueueResult.Queued;
    }

    private async Task RunAsync()
    {
        var reason = "closed by the client";
        try
        {
            _lastActivity = _head.Time.GetTimestamp();
            _timer = _head.Time.CreateTimer(static s => ((MqttConnection)s!).OnTimer(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            if (IsClosed)
            {
                return;
            }

            _ssl = new SslStream(new NetworkStream(_socket, ownsSocket: true), leaveInnerStreamOpen: false);
            await _ssl.AuthenticateAsServerAsync(_head.SslOptions!, _closing.Token).ConfigureAwait(false);
            _writer = new MqttPacketWriter(_ssl, MaxSendBacklog, ex =>
            {
                Log.DeliveryConnectionLost(_head.Logger, _clientId, ex.Message);
                Abort("write failed: " + ex.Message);
            });
            _heldAcks = new HeldPubAcks(_writer, OnStoreFailed);
            if (IsClosed)
            {
                _writer.Close();
                return;
            }

            reason = await ReadLoopAsync(_ssl).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or AuthenticationException)
        {
            reason = _closeReason ?? ex.Message;
        }
        catch (Exception ex)
        {
            MqttHeadLog.PacketFailed(_head.Logger, _clientId, ex);
            reason = ex.Message;
        }
        finally
        {
            Abort(reason);
            _timer?.Dispose();
            _heldAcks?.Forget();
            _head.Forget(this);
            _iotHub.Detached(this, _state);
            _ssl?.Dispose();
            _closing.Dispose();
            MqttHeadLog.ConnectionClosed(_head.Logger, _id, _clientId, _closeReason ?? reason);
        }
    }

    private async Task<string> ReadLoopAsync(SslStream ssl)
    {
        var reader = new MqttPacketReader(ssl, _iotHub.MaxPacketBytes, () => Volatile.Write(ref _lastActivity, _head.Time.GetTimestamp()));
        switch (await reader.RunAsync(Handle).ConfigureAwait(false))
        {
            case ReadEnd.Closed:
                return "closed by the client";
            case ReadEnd.Malformed:
                Malformed("remaining length over 4 bytes");
                return _closeReason!;
            case ReadEnd.TooLarge:
                MqttHeadLog.PacketTooLarge(_head.Logger, _clientId, reader.LastLength, _iotHub.MaxPacketBytes);
                _head.Counters.Refused((reader.LastHeader >> 4) == (int)MqttPacketType.Publish ? "oversize" : "malformed-packet");
                return _closeReason = "packet too large";
            default:
                return _closeReason ?? "closed by the hub";
        }
    }

    /// <summary>Handles one packet (everything it needs is copied off the buffer before any await); false closes the connection.</summary>
    private ValueTask<bool> Handle(byte header, ReadOnlySpan<byte> body)
    {
        var type = (MqttPacketType)(header >> 4);
        var flags = header & 0x0F;
        if (_state is null)
        {
            return type == MqttPacketType.Connect && flags == 0
                ? HandleConnect(body)
                : new ValueTask<bool>(Malformed("first packet is not CONNECT"));
        }

        switch (type)
        {
            case MqttPacketType.Publish:
                return HandlePublish(header, body);
            case MqttPacketType.PubAck:
                if (flags != 0 || body.Length != 2)
                {
                    return new ValueTask<bool>(Malformed("bad PUBACK"));
                }

                _state.Acknowledged(this, BinaryPrimitives.ReadUInt16BigEndian(body));
                return new ValueTask<bool>(true);
            case MqttPacketType.Subscribe:
                return new ValueTask<bool>(flags == 2 ? HandleSubscribe(body) : Malformed("bad SUBSCRIBE flags"));
            case MqttPacketType.Unsubscribe:
                return new ValueTask<bool>(flags == 2 ? HandleUnsubscribe(body) : Malformed("bad UNSUBSCRIBE flags"));
            case MqttPacketType.PingReq:
                if (flags != 0 || body.Length != 0)
                {
                    return new ValueTask<bool>(Malformed("bad PINGREQ"));
                }

                SendControl(0xD0, 0, 0, 0);
                return new ValueTask<bool>(true);
            case MqttPacketType.Disconnect:
                _closeReason = "DISCONNECT";
                return new ValueTask<bool>(false);
            default:
                return new ValueTask<bool>(Malformed($"unexpected {type} packet"));
        }
    }

    private ValueTask<bool> HandleConnect(ReadOnlySpan<byte> body)
    {
        switch (MqttConnect.TryRead(body, out var connect, out var problem, out var level))
        {
            case ConnectStatus.Malformed:
                return new ValueTask<bool>(Malformed(problem));
            case ConnectStatus.UnsupportedLevel:
                MqttHeadLog.UnsupportedProtocol(_head.Logger, _clientId, level);
                _head.Counters.Refused("unsupported-protocol");
                return new ValueTask<bool>(RefuseConnectAsync(0x01, "unsupported protocol level"));
            default:
                break;
        }

        var (clientId, username, password, clean, keepAlive) = connect!;
        _clientId = clientId;
        if (!_iotHub.TryAuthenticate(clientId, username, password, out var identity, out var reason))
        {
            return new ValueTask<bool>(RefuseConnectAsync(0x05, "not authorized: " + reason));
        }

        if (keepAlive > 0)
        {
            _keepAlive = TimeSpan.FromSeconds(keepAlive);
            var limit = TimeSpan.FromSeconds(keepAlive * 1.5);
            _idleLimit = limit < MaxKeepAliveTimeout ? limit : MaxKeepAliveTimeout;
            var period = TimeSpan.FromTicks(Math.Clamp(_idleLimit.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(5).Ticks));
            ChangeTimer(period);
        }
        else
        {
            ChangeTimer(Timeout.InfiniteTimeSpan);
        }

        var state = _iotHub.Attach(this, identity, clean, out var sessionPresent);
        _state = state;
        SendControl(0x20, 2, sessionPresent ? (byte)1 : (byte)0, 0);
        _iotHub.Connected(this, state);
        return new ValueTask<bool>(true);
    }

    private async Task<bool> RefuseConnectAsync(byte code, string reason)
    {
        // Nothing else writes before a CONNACK: write it directly and close.
        _closeReason = reason;
        await _ssl!.WriteAsync(new byte[] { 0x20, 0x02, 0x00, code }).ConfigureAwait(false);
        await _ssl.FlushAsync().ConfigureAwait(false);
        return false;
    }

    private ValueTask<bool> HandlePublish(byte header, ReadOnlySpan<byte> body)
    {
        var qos = (header >> 1) & 3;
        var retain = (header & 1) != 0;
        var o = 0;
        if (qos == 3)
        {
            return new ValueTask<bool>(Malformed("PUBLISH with QoS 3"));
        }

        if (!MqttCodec.TryReadString(body, ref o, out var topic) || topic.Length == 0)
        {
            return new ValueTask<bool>(Malformed("bad PUBLISH topic"));
        }

        ushort packetId = 0;
        if (qos > 0 && (!MqttCodec.TryReadUInt16(body, ref o, out packetId) || packetId == 0))
        {
            return new ValueTask<bool>(Malformed("bad PUBLISH packet id"));
        }

        if (qos == 2)
        {
            // IoT Hub offers at most and at least once; edgeHub closes the connection of a QoS 2 publisher.
            return new ValueTask<bool>(Refused(_iotHub.Refuse(_state!, topic, "qos2")));
        }

        var inbound = _iotHub.Publish(_state!, topic, body[o..], retain, _closing.Token);
        switch (inbound.Kind)
        {
            case InboundKind.Refused:
                return new ValueTask<bool>(Refused(inbound));
            case InboundKind.Handled:
                return new ValueTask<bool>(ThenAckAsync(inbound.Completion, qos, packetId));
            case InboundKind.Stored:
                var stored = inbound.Completion;
                if (qos == 0)
                {
                    return stored.IsCompletedSuccessfully ? new ValueTask<bool>(true) : new ValueTask<bool>(AwaitStoredAsync(stored));
                }

                // Pipelined: the read loop goes on with the next PUBLISH (whose rows can share the commit) while the PUBACK of this
                // one waits for its rows to be committed.
                var held = QueueAck(packetId, stored);
                return held >= MaxHeldAcks && !stored.IsCompleted ? new ValueTask<bool>(PaceAsync(stored)) : new ValueTask<bool>(true);
            default:
                return new ValueTask<bool>(Ack(qos, packetId));
        }
    }

    /// <summary>A refused PUBLISH (counted and logged by the IoT Hub layer): the connection closes before any PUBACK for it.</summary>
    private bool Refused(Inbound refused)
    {
        _closeReason = "publish refused: " + refused.Reason;
        return false;
    }

    private bool Ack(int qos, ushort packetId)
    {
        if (qos == 1)
        {
            QueueAck(packetId, Task.CompletedTask);
        }

        return true;
    }

    private async Task<bool> ThenAckAsync(Task handled, int qos, ushort packetId)
    {
        await handled.ConfigureAwait(false);
        return Ack(qos, packetId);
    }

    private async Task<bool> AwaitStoredAsync(Task stored)
    {
        try
        {
            await stored.ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !IsClosed)
        {
            Log.StoreFailed(_head.Logger, _clientId, ex);
            _closeReason = "store failed";
            return false;
        }
    }

    private async Task<bool> PaceAsync(Task stored)
    {
        // A failed store is handled (and the connection closed) by the PUBACK queue.
        await stored.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return !IsClosed;
    }

    private bool Malformed(string reason)
    {
        _head.Counters.Refused("malformed-packet");
        MqttHeadLog.MalformedPacket(_head.Logger, _clientId, reason);
        _closeReason = "malformed packet: " + reason;
        return false;
    }

    private bool HandleSubscribe(ReadOnlySpan<byte> body)
    {
        if (!MqttSubscriptions.TryReadSubscribe(body, out var packetId, out var filters, out var problem))
        {
            return Malformed(problem);
        }

        // Refused (0x80) or QoS 1 at most: the Protocol Gateway grants QoS 1 for a QoS 2 subscription.
        var codes = filters.Select(f => _iotHub.MaySubscribe(_state!, f.Filter) ? Math.Min(f.Qos, (byte)1) : (byte)0x80).ToList();

        // SUBACK first, so nothing delivered for the new subscription overtakes it.
        if (_writer!.Send(MqttSubscriptions.SubAckLength(codes.Count), (packetId, codes), static (span, s) =>
                MqttSubscriptions.WriteSubAck(span, s.packetId, s.codes)) != QueueResult.Queued)
        {
            return false;
        }

        for (var i = 0; i < filters.Count; i++)
        {
            if (codes[i] != 0x80)
            {
                _iotHub.SetSubscription(_state!, filters[i].Filter, true);
            }
        }

        return true;
    }

    private bool HandleUnsubscribe(ReadOnlySpan<byte> body)
    {
        if (!MqttSubscriptions.TryReadUnsubscribe(body, out var packetId, out var filters, out var problem))
        {
            return Malformed(problem);
        }

        foreach (var filter in filters)
        {
            _iotHub.SetSubscription(_state!, filter, false);
        }

        SendControl(0xB0, 2, (byte)(packetId >> 8), (byte)packetId);
        return true;
    }

    private int QueueAck(ushort packetId, Task stored) => _heldAcks!.Queue(packetId, stored);

    /// <summary>A held message's store failed: no PUBACK for it (nor for later ones), the client resends after reconnecting.</summary>
    private void OnStoreFailed(Exception failure)
    {
        if (!IsClosed)
        {
            Log.StoreFailed(_head.Logger, _clientId, failure);
        }

        Abort("store failed");
    }

    // ---------------------------------------------------------------- send side

    private void SendControl(byte header, byte length, byte b2, byte b3) =>
        _writer?.Send(2 + length, (header, length, b2, b3), static (span, s) =>
        {
            span[0] = s.header;
            span[1] = s.length;
            if (s.length == 2)
            {
                span[2] = s.b2;
                span[3] = s.b3;
            }
        });

    private void ChangeTimer(TimeSpan period)
    {
        try
        {
            _timer?.Change(period, period);
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile.
        }
    }

    private void OnTimer()
    {
        var idle = _head.Time.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idle <= _idleLimit || IsClosed)
        {
            return;
        }

        if (_state is null)
        {
            Abort("no CONNECT in time");
            return;
        }

        MqttHeadLog.KeepAliveExpired(_head.Logger, _clientId, _idleLimit, _keepAlive);
        Abort("keep-alive expired");
    }

    /// <summary>For logs: which connection and identity this is.</summary>
    public override string ToString() => $"{_id} {_clientId}";
}
