using System.Text.RegularExpressions;
using Edge.Cli.Commands;
using Edge.Cli.Commands.Up;
using Edge.TestSupport;
using Microsoft.Playwright;

namespace EndToEnd.Tests.Up;

/// <summary>
/// <c>edge up</c> as a user meets it: the real modules on the simulator with the sample video and the default model,
/// detections streamed, the dashboard driven in a real headless Chromium (screenshots kept as test artefacts),
/// and a healthy summary with zero messages lost.
/// </summary>
public sealed partial class UpDashboardTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task Up_SampleVideo_StreamsDetectionsDrivesDashboardAndExitsHealthy()
    {
        File.Exists(Chromium).ShouldBeTrue($"{Chromium} is missing: ./edge test installs Debian's chromium");
        using var state = new TempDirectory();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var output = new ConcurrentWriter();
        var options = new UpOptions
        {
            Duration = TimeSpan.FromSeconds(40),
            Build = false,
            Configuration = BuildConfiguration(),
            DashboardPort = 0,
            MqttPort = 0,
            StateDirectory = state.Path,
        };
        var run = Task.Run(() => new UpRun(options, output, output, TimeProvider.System).RunAsync(timeout.Token));

        var url = await WaitForAsync(() => DashboardUrl().Match(output.Text) is { Success: true } m ? m.Value : null, run, timeout.Token);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1400, Height = 1000 } });
        await page.GotoAsync(url);

        // The live view: the annotated frame of the camera appears and the recent detections list fills.
        await page.Locator(".cam img").WaitForAsync(new() { Timeout = 30_000 });
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#recent tbody tr').length > 0", null, new() { Timeout = 30_000 });
        (await page.Locator(".cam img").EvaluateAsync<int>("img => img.naturalWidth")).ShouldBeGreaterThan(0);
        (await page.Locator("#recent tbody").InnerTextAsync()).ShouldContain("face");
        (await page.Locator("#routes").InnerTextAsync()).ShouldContain("eventsToCloud");
        (await page.Locator("#modules tbody").InnerTextAsync()).ShouldContain("running");

        // Times on the 24-hour clock the console uses; rate and latency history charts drawn; route text never split inside a word.
        (await page.Locator("#recent tbody tr td").First.InnerTextAsync()).ShouldMatch(@"^\d{2}:\d{2}:\d{2}\.\d{3}$");
        await page.WaitForFunctionAsync("() => document.querySelectorAll('#chart-rate path').length > 0 && document.querySelectorAll('#chart-latency path').length > 0", null, new() { Timeout = 10_000 });
        (await page.Locator("#chart-latency path").CountAsync()).ShouldBe(2, "p50 and p99");
        (await page.Locator("#rate-now").InnerTextAsync()).ShouldMatch(@"^\d+\.\d/s$");
        (await page.EvaluateAsync<string[]>(SplitWords)).ShouldBeEmpty();
        await Screenshot(page, "dashboard-live");
        await page.SetViewportSizeAsync(1100, 1000);
        await page.WaitForFunctionAsync( // the next refresh redraws the charts at the new width
            "() => { const s = document.querySelector('#chart-rate'); return s.getAttribute('viewBox')?.split(' ')[2] == Math.max(s.clientWidth, 200); }", null, new() { Timeout = 10_000 });
        (await page.EvaluateAsync<string[]>(SplitWords)).ShouldBeEmpty();
        (await page.EvaluateAsync<string[]>(WiderThanViewport)).ShouldBeEmpty("no horizontal scrolling");
        await Screenshot(page, "dashboard-narrow");
        await page.SetViewportSizeAsync(1400, 1000);

        // Fault switch: the cloud goes offline and comes back.
        await page.ClickAsync("#cloud-offline");
        await page.WaitForFunctionAsync("() => document.querySelector('#upstream').textContent.includes('OFFLINE')", null, new() { Timeout = 10_000 });
        await Screenshot(page, "dashboard-cloud-offline");
        await page.ClickAsync("#cloud-online");
        await page.WaitForFunctionAsync("() => document.querySelector('#upstream').textContent.includes('online')", null, new() { Timeout = 10_000 });

        // Twins: the Inference twin loads; a desired change made in the page comes back in reported properties.
        await page.SelectOptionAsync("#twin-module", "Inference");
        await page.ClickAsync("#twin-load");
        await page.WaitForFunctionAsync("() => document.querySelector('#twin-desired').value.includes('thresholds')", null, new() { Timeout = 10_000 });
        var desired = await page.InputValueAsync("#twin-desired");
        await page.FillAsync("#twin-desired", desired.Replace("\"minScore\": 0.6", "\"minScore\": 0.65", StringComparison.Ordinal));
        await page.ClickAsync("#twin-apply");
        await page.WaitForFunctionAsync("() => document.querySelector('#twin-reported').textContent.includes('0.65')", null, new() { Timeout = 20_000 });
        await Screenshot(page, "dashboard-twin");

        // Unauthenticated access is refused.
        using var http = new HttpClient();
        (await http.GetAsync(new Uri(new Uri(url), "/dashboard/api/state"), timeout.Token)).StatusCode.ShouldBe(System.Net.HttpStatusCode.Unauthorized);

        var exit = await run;
        var text = output.Text;
        exit.ShouldBe(0, text);
        text.ShouldContain("Healthy run.");
        Regex.IsMatch(text, @"messages lost\s+0").ShouldBeTrue(text);
        Regex.IsMatch(text, @"cam1\s+seq \d+\s+[\d.]+ ms\s+face 0\.\d\d").ShouldBeTrue(text);
    }

    /// <summary>Words (runs of letters, digits, '_' and '$') in the routes and queues tables that are laid out over more than one line.</summary>
    private const string SplitWords = """
        () => {
          const split = [];
          for (const td of document.querySelectorAll('#routes td, #queues td')) {
            const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
              for (const m of n.data.matchAll(/[A-Za-z0-9_$]+/g)) {
                const r = document.createRange();
                r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
                if (new Set([...r.getClientRects()].map(c => Math.round(c.top))).size > 1) split.push(m[0]);
              }
            }
          }
          return split;
        }
        """;

    /// <summary>Elements that reach past the right edge of the viewport (what would make the page scroll sideways).</summary>
    private const string WiderThanViewport = """
        () => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
          .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''} right=${Math.round(e.getBoundingClientRect().right)}`)
          .slice(0, 12)
        """;

    private static async Task<string> WaitForAsync(Func<string?> probe, Task<int> run, CancellationToken ct)
    {
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }

            if (run.IsCompleted)
            {
                throw new InvalidOperationException("edge up stopped before printing the dashboard URL: exit " + await run);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, ct);
        }
    }

    private static async Task Screenshot(IPage page, string name)
    {
        var dir = Path.Combine(Assets.RepoRoot, "artifacts", "test-results", "screenshots");
        Directory.CreateDirectory(dir);
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, name + ".png"), FullPage = true });
    }

    /// <summary>The configuration this test assembly was built in (release or debug): the modules are taken from the same.</summary>
    private static string BuildConfiguration() =>
        AppContext.BaseDirectory.Contains("/release", StringComparison.OrdinalIgnoreCase) ? "release" : "debug";

    [GeneratedRegex(@"http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+")]
    private static partial Regex DashboardUrl();
}
