using System.Collections.Concurrent;
using System.Text.Json;

namespace Edge.TestSupport;

/// <summary>Per-source counts (docs/reliability-suite.md, scenario catalogue): expected, received, matched, missing, duplicates, misordered.</summary>
public sealed record SourceReport(string Source, long Expected, long Received, long Matched, long Missing, long Duplicates, long Misordered, IReadOnlyList<long> MissingSeqs)
{
    /// <summary>The standard pass rule: something expected, nothing missing, nothing misordered (duplicates are reported, not failed).</summary>
    public bool Passed => Expected > 0 && Missing == 0 && Misordered == 0;

    public override string ToString() =>
        $"{Source}: expected={Expected} received={Received} matched={Matched} missing={Missing} duplicates={Duplicates} misordered={Misordered}" +
        (MissingSeqs.Count > 0 ? $" firstMissing=[{string.Join(",", MissingSeqs.Take(10))}]" : "");
}

/// <summary>
/// Counts sequence-numbered messages per source, modelled on iotedge's TestResultCoordinator. Misordering is judged after
/// collapsing duplicates to their last copy: a resend of an unacknowledged window (n, n+1 delivered, then n, n+1 again) is not
/// misordered; n+1 arriving for the last time before n is.
/// </summary>
public sealed class CountingVerifier
{
    private readonly ConcurrentDictionary<string, List<long>> _arrivals = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long First, long Last)> _expected = new(StringComparer.Ordinal);

    /// <summary>Declares that <paramref name="source"/> sends seq <paramref name="first"/>..<paramref name="last"/>.</summary>
    public void Expect(string source, long first, long last) => _expected[source] = (first, last);

    public void Add(string source, long seq)
    {
        var list = _arrivals.GetOrAdd(source, _ => []);
        lock (list)
        {
            list.Add(seq);
        }
    }

    /// <summary>Adds a JSON body with <c>source</c> and <c>seq</c> fields (the LoadGen envelope). Returns false if it is not one.</summary>
    public bool AddJson(ReadOnlySpan<byte> body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            if (doc.RootElement.TryGetProperty("source", out var s) && doc.RootElement.TryGetProperty("seq", out var q) && s.GetString() is { } source)
            {
                Add(source, q.GetInt64());
                return true;
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }

    public long ReceivedCount(string source) => _arrivals.TryGetValue(source, out var l) ? Locked(l).Count : 0;

    public long DistinctCount(string source) => _arrivals.TryGetValue(source, out var l) ? Locked(l).Distinct().Count() : 0;

    public IReadOnlyList<SourceReport> Report() =>
        _arrivals.Keys.Union(_expected.Keys).Order(StringComparer.Ordinal).Select(Report).ToList();

    public SourceReport Report(string source)
    {
        var arrivals = _arrivals.TryGetValue(source, out var l) ? Locked(l) : [];
        var (first, last) = _expected.TryGetValue(source, out var e) ? e : arrivals.Count == 0 ? (1L, 0L) : (arrivals.Min(), arrivals.Max());
        var expected = Math.Max(0, last - first + 1);
        var distinct = arrivals.ToHashSet();
        var matched = distinct.LongCount(s => s >= first && s <= last);
        var missing = new List<long>();
        for (var s = first; s <= last && missing.Count < 1000; s++)
        {
            if (!distinct.Contains(s))
            {
                missing.Add(s);
            }
        }

        // Last copy of each seq, in arrival order; count inversions against the previous last copy.
        var lastIndex = new Dictionary<long, int>();
        for (var i = 0; i < arrivals.Count; i++)
        {
            lastIndex[arrivals[i]] = i;
        }

        var order = lastIndex.OrderBy(kv => kv.Value).Select(kv => kv.Key).ToList();
        long misordered = 0;
        for (var i = 1; i < order.Count; i++)
        {
            if (order[i] < order[i - 1])
            {
                misordered++;
            }
        }

        return new SourceReport(source, expected, arrivals.Count, matched, expected - matched, arrivals.Count - distinct.Count, misordered, missing);
    }

    private static List<long> Locked(List<long> l)
    {
        lock (l)
        {
            return [.. l];
        }
    }
}
