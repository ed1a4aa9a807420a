using System.ComponentModel.DataAnnotations;

namespace Edge.Runtime;

/// <summary>Runtime settings every module shares, bound from configuration (environment variables). See docs/configuration.md.</summary>
public sealed class EdgeModuleOptions
{
    /// <summary>
    /// Folder for the module's persistent state (outbox database, last-known-good twin, model cache, sequence numbers).
    /// Env <c>StateDirectory</c>. Default: <c>/app/state</c> inside a container (bind-mount it), else <c>~/.edge-state/{moduleId}</c>.
    /// </summary>
    [Required]
    public string StateDirectory { get; set; } = "";
}
