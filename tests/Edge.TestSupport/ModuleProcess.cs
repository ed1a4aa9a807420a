using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Edge.TestSupport;

/// <summary>A module executable (e.g. tests/LoadGen) run as a real child process, with its output captured.</summary>
public sealed class ModuleProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ModuleProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The built dll of a project under the repository (same configuration as the running tests).</summary>
    public static string BuiltDll(string project)
    {
        var config = AppContext.BaseDirectory.Contains("/release/", StringComparison.OrdinalIgnoreCase) ? "release" : "debug";
        var path = Path.Combine(Assets.RepoRoot, "artifacts", "bin", project, config, project + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"{project} is not built at {path}; build it (the test project references it)", path);
    }

    /// <summary>
    /// Why this machine cannot Native-AOT-publish (no clang: <c>apt-get install clang zlib1g-dev</c>, which <c>./edge test</c>
    /// does), or null when it can.
    /// </summary>
    public static string? AotToolchainMissing() => AotCompiler() is null
        ? "Native AOT needs a C toolchain: no clang (or clang-NN) on PATH. Install it with 'apt-get install clang zlib1g-dev' (./edge test does)."
        : null;

    /// <summary>
    /// Native-AOT-publishes <paramref name="project"/> (a csproj path relative to the repository root) for this machine's
    /// runtime identifier, once per content of <paramref name="inputs"/> (folders relative to the root, hashed with the
    /// repository-wide build files): the binary is cached under <c>artifacts/aot/{name}/{hash}/</c>. Publishes run one at
    /// a time across processes and build in <c>artifacts/aot/_build</c>, apart from the normal (JIT) build output.
    /// </summary>
    public static async Task<string> PublishAotAsync(string project, IReadOnlyList<string> inputs, CancellationToken ct)
    {
        var compiler = AotCompiler() ?? throw new InvalidOperationException(AotToolchainMissing());
        var root = Assets.RepoRoot;
        var name = Path.GetFileNameWithoutExtension(project);
        var rid = RuntimeInformation.RuntimeIdentifier;
        var aotRoot = Path.Combine(root, "artifacts", "aot");
        var dir = Path.Combine(aotRoot, name, InputHash(root, [.. inputs, "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig", "eng"], rid));
        var exe = Path.Combine(dir, name);
        if (File.Exists(exe))
        {
            return exe;
        }

        Directory.CreateDirectory(aotRoot);
        using var gate = await LockAsync(Path.Combine(aotRoot, ".publish.lock"), ct).ConfigureAwait(false);
        if (File.Exists(exe))
        {
            return exe;
        }

        var staging = Path.Combine(aotRoot, "_staging", name);
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }

        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
        foreach (var a in new[]
        {
            "publish", Path.Combine(root, project), "-c", "Release", "-r", rid, "-o", staging, "-nologo", "-v", "quiet", "--disable-build-servers",
            $"-p:ArtifactsPath={Path.Combine(aotRoot, "_build")}", $"-p:CppCompilerAndLinker={compiler}",
        })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        try
        {
            await p.WaitForExitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }

        if (p.ExitCode != 0 || !File.Exists(Path.Combine(staging, name)))
        {
            throw new InvalidOperationException($"dotnet publish {project} -r {rid} failed ({p.ExitCode}; the project sets PublishAot):\n{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }

        // Keep one binary per project: older hashes are stale.
        Directory.CreateDirectory(Path.Combine(aotRoot, name));
        foreach (var old in Directory.EnumerateDirectories(Path.Combine(aotRoot, name)))
        {
            Directory.Delete(old, recursive: true);
        }

        Directory.Move(staging, dir);
        return exe;
    }

    private static string? AotCompiler()
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries);
        var names = new[] { "clang" }.Concat(Enumerable.Range(11, 30).Reverse().Select(v => $"clang-{v}"));
        return names.FirstOrDefault(n => path.Any(d => File.Exists(Path.Combine(d, n))));
    }

    private static string InputHash(string root, IEnumerable<string> inputs, string rid)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(rid));
        var files = inputs.Select(i => Path.Combine(root, i))
            .SelectMany(i => Directory.Exists(i) ? Directory.EnumerateFiles(i, "*", SearchOption.AllDirectories) : File.Exists(i) ? [i] : [])
            .Select(f => Path.GetRelativePath(root, f))
            .Order(StringComparer.Ordinal);
        foreach (var f in files)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(f + "\n"));
            sha.AppendData(File.ReadAllBytes(Path.Combine(root, f)));
        }

        return Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
    }

    private static async Task<FileStream> LockAsync(string path, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), TimeProvider.System, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts a module: a <c>.dll</c> on the shared runtime (<c>dotnet exec</c>), anything else as a native (AOT) executable.</summary>
    public static ModuleProcess Start(string dll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var managed = dll.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var psi = new ProcessStartInfo(managed ? "dotnet" : dll) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (managed)
        {
            psi.ArgumentList.Add("exec");
            psi.ArgumentList.Add(dll);
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var m = new ModuleProcess(p);
        p.OutputDataReceived += (_, e) => m.Append(e.Data);
        p.ErrorDataReceived += (_, e) => m.Append(e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return m;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>SIGKILL: no chance to flush or close anything.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    /// <summary>SIGTERM (graceful shutdown) and wait for the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().ConfigureAwait(false);
        }

        await _process.WaitForExitAsync().WaitAsync(timeout, TimeProvider.System).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout, TimeProvider.System).ConfigureAwait(false);
        return _process.ExitCode;
    }

    /// <summary>Resident set size from /proc (bytes), or 0 when unavailable.</summary>
    public long RssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
                    return kb * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return 0;
    }

    public ValueTask DisposeAsync()
    {
        KillHard();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
