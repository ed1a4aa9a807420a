using Edge.Runtime.Client;
using Microsoft.Extensions.Options;

namespace Edge.Runtime.Hosting;

// Source-generated DataAnnotations validators (trim- and AOT-safe replacements for ValidateDataAnnotations()).

/// <summary>Validates <see cref="EdgeModuleOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class EdgeModuleOptionsValidator : IValidateOptions<EdgeModuleOptions>;

/// <summary>Validates <see cref="OutboxOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class OutboxOptionsValidator : IValidateOptions<OutboxOptions>;

/// <summary>Validates <see cref="EdgeHubClientOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class EdgeHubClientOptionsValidator : IValidateOptions<EdgeHubClientOptions>;
