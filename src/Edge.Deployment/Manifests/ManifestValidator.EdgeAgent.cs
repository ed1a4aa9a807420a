using System.Text.Json;
using System.Text.Json.Nodes;

namespace Edge.Deployment.Manifests;

/// <summary>The <c>$edgeAgent</c> rules: runtime, system modules, modules (image, status, restart policy, start-up order, createOptions, env).</summary>
public static partial class ManifestValidator
{
    private static void ValidateAgent(JsonObject d, string path, HashSet<string> moduleIds, List<ManifestProblem> p)
    {
        var schema = CheckSchemaVersion(d, path, maxMinor: 1, "$edgeAgent", p);

        if (d["runtime"] is not JsonObject runtime)
        {
            p.Add(ManifestProblem.Error(JsonPath.Child(path, "runtime"), "required object is missing"));
        }
        else
        {
            var rp = JsonPath.Child(path, "runtime");
            ExpectValue(runtime, "type", rp, ["docker"], required: true, p);
            if (runtime["settings"] is JsonObject settings)
            {
                var sp = JsonPath.Child(rp, "settings");
                ExpectString(settings, "minDockerVersion", sp, required: false, p);
                if (settings["loggingOptions"] is { } lo && lo.GetValueKind() == JsonValueKind.String && lo.GetValue<string>().Length > 0
                    && !IsJsonObject(lo.GetValue<string>()))
                {
                    p.Add(ManifestProblem.Error(JsonPath.Child(sp, "loggingOptions"), "must be empty or stringified JSON"));
                }

                if (settings["registryCredentials"] is JsonObject creds)
                {
                    foreach (var (name, cred) in creds)
                    {
                        var cp = JsonPath.Child(JsonPath.Child(sp, "registryCredentials"), name);
                        if (cred is not JsonObject c)
                        {
                            p.Add(ManifestProblem.Error(cp, "must be an object with username, password and address"));
                            continue;
                        }

                        foreach (var field in new[] { "username", "password", "address" })
                        {
                            ExpectString(c, field, cp, required: true, p);
                        }

                        if (c["address"]?.GetValueKind() == JsonValueKind.String && c["address"]!.GetValue<string>().Contains("://", StringComparison.Ordinal))
                        {
                            p.Add(ManifestProblem.Error(JsonPath.Child(cp, "address"), "is a registry host name (myacr.azurecr.io), not a URL"));
                        }
                    }
                }
                else if (settings["registryCredentials"] is { } rc)
                {
                    p.Add(ManifestProblem.Error(JsonPath.Child(sp, "registryCredentials"), $"must be an object, found {CreateOptions.Describe(rc)}"));
                }
            }
            else if (runtime["settings"] is { } s)
            {
                p.Add(ManifestProblem.Error(JsonPath.Child(rp, "settings"), $"must be an object, found {CreateOptions.Describe(s)}"));
            }
        }

        var sysPath = JsonPath.Child(path, "systemModules");
        if (d["systemModules"] is not JsonObject system)
        {
            p.Add(ManifestProblem.Error(sysPath, "required object is missing"));
        }
        else
        {
            foreach (var name in new[] { "edgeAgent", "edgeHub" })
            {
                var mp = JsonPath.Child(sysPath, name);
                if (system[name] is not JsonObject m)
                {
                    p.Add(ManifestProblem.Error(mp, "required system module is missing"));
                    continue;
                }

                ValidateModuleCommon(m, mp, p);
                if (name == "edgeHub")
                {
                    ExpectValue(m, "status", mp, ["running"], required: true, p);
                    ExpectValue(m, "restartPolicy", mp, ["always"], required: false, p);
                    CheckStartupOrder(m, mp, schema, p);
                }
                else if (m.ContainsKey("startupOrder"))
                {
                    p.Add(ManifestProblem.Warning(JsonPath.Child(mp, "startupOrder"), "edgeAgent always starts first; its startupOrder is ignored"));
                }
            }

            foreach (var (name, _) in system)
            {
                if (name is not ("edgeAgent" or "edgeHub"))
                {
                    p.Add(ManifestProblem.Error(JsonPath.Child(sysPath, name), "unknown system module: only edgeAgent and edgeHub are system modules"));
                }
            }
        }

        var modulesPath = JsonPath.Child(path, "modules");
        if (d["modules"] is not JsonObject modules)
        {
            if (d["modules"] is { } other)
            {
                p.Add(ManifestProblem.Error(modulesPath, $"must be an object, found {CreateOptions.Describe(other)}"));
            }

            return;
        }

        if (modules.Count > MaxModules)
        {
            p.Add(ManifestProblem.Error(modulesPath, $"{modules.Count} modules; IoT Edge deploys at most {MaxModules}"));
        }

        foreach (var (id, node) in modules)
        {
            moduleIds.Add(id);
            var mp = JsonPath.Child(modulesPath, id);
            CheckModuleId(id, mp, p);
            if (node is not JsonObject m)
            {
                p.Add(ManifestProblem.Error(mp, $"must be an object, found {CreateOptions.Describe(node)}"));
                continue;
            }

            ValidateModuleCommon(m, mp, p);
            ExpectString(m, "version", mp, required: false, p);
            ExpectValue(m, "status", mp, Statuses, required: true, p);
            ExpectValue(m, "restartPolicy", mp, RestartPolicies, required: false, p); // edgeAgent defaults it
            ExpectValue(m, "imagePullPolicy", mp, PullPolicies, required: false, p);
            CheckStartupOrder(m, mp, schema, p);
        }
    }

    private static void ValidateModuleCommon(JsonObject m, string mp, List<ManifestProblem> p)
    {
        ExpectValue(m, "type", mp, ["docker"], required: true, p);
        var sp = JsonPath.Child(mp, "settings");
        if (m["settings"] is not JsonObject settings)
        {
            p.Add(ManifestProblem.Error(sp, "required object is missing"));
        }
        else
        {
            var ip = JsonPath.Child(sp, "image");
            if (settings["image"] is not { } imageNode || imageNode.GetValueKind() != JsonValueKind.String || imageNode.GetValue<string>().Trim().Length == 0)
            {
                p.Add(ManifestProblem.Error(ip, "required image reference is missing"));
            }
            else
            {
                CheckImage(imageNode.GetValue<string>(), ip, p);
            }

            var joined = CreateOptions.Join(settings, sp, p);
            if (joined is { Length: > 0 } && joined != "null" && !IsJsonObject(joined))
            {
                p.Add(ManifestProblem.Error(JsonPath.Child(sp, "createOptions"),
                    $"createOptions (joined from its chunks) is not a JSON object: {JsonError(joined)}"));
            }
        }

        if (m["env"] is { } env)
        {
            CheckEnv(env, JsonPath.Child(mp, "env"), p);
        }
    }

    private static void CheckEnv(JsonNode env, string path, List<ManifestProblem> p)
    {
        if (env is not JsonObject vars)
        {
            p.Add(ManifestProblem.Error(path, $"must be an object of {{\"NAME\": {{\"value\": \"...\"}}}}, found {CreateOptions.Describe(env)}"));
            return;
        }

        foreach (var (name, node) in vars)
        {
            var ep = JsonPath.Child(path, name);
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
            {
                p.Add(ManifestProblem.Error(ep, "an environment variable name must be non-empty, without '=' or spaces"));
            }

            if (node is not JsonObject entry || !entry.ContainsKey("value"))
            {
                p.Add(ManifestProblem.Error(ep, "must be an object {\"value\": \"...\"} (edgeAgent's env shape), not a bare value"));
                continue;
            }

            var kind = entry["value"]?.GetValueKind();
            if (kind is JsonValueKind.Object or JsonValueKind.Array)
            {
                p.Add(ManifestProblem.Error(JsonPath.Child(ep, "value"), "must be a string (or a number/boolean, passed as text)"));
            }
        }
    }
}
