using System.Text.Json;
using System.Text.RegularExpressions;

namespace Okap.Infra.Tests;

/// <summary>The template a resource or output lives in, and the module deployment that deploys it (null for main).</summary>
public sealed record ArmScope(JsonElement Template, ArmResource? Deployment);

/// <summary>A resource anywhere in a compiled ARM template, including inside nested module deployments.</summary>
public sealed record ArmResource(string Symbol, JsonElement Element, ArmScope Scope)
{
    public string Type => Element.GetProperty("type").GetString()!;

    public string Name => Element.GetProperty("name").GetString()!;

    public bool IsExisting => Element.TryGetProperty("existing", out var e) && e.ValueKind == JsonValueKind.True;

    public string? Condition => Element.TryGetProperty("condition", out var c) ? c.ToString() : null;

    public JsonElement Properties => Element.GetProperty("properties");

    /// <summary>Module deployments enclosing this resource, outermost first.</summary>
    public IReadOnlyList<ArmResource> ModuleChain
    {
        get
        {
            var chain = new List<ArmResource>();
            for (var d = Scope.Deployment; d is not null; d = d.Scope.Deployment)
            {
                chain.Insert(0, d);
            }

            return chain;
        }
    }

    /// <summary>Walks a property path ("properties", "siteConfig", "minTlsVersion").</summary>
    public JsonElement Get(params string[] path)
    {
        var e = Element;
        foreach (var p in path)
        {
            Assert.True(e.ValueKind == JsonValueKind.Object && e.TryGetProperty(p, out e),
                $"{Type} '{Symbol}' has no '{string.Join('.', path)}'");
        }

        return e;
    }

    public bool Has(params string[] path)
    {
        var e = Element;
        foreach (var p in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>An output anywhere in a compiled ARM template (main or module).</summary>
public sealed record ArmOutput(string Name, JsonElement Element, ArmScope Scope)
{
    public string Value => Element.TryGetProperty("value", out var v)
        ? v.ToString()
        : Element.TryGetProperty("copy", out var c) ? c.ToString() : string.Empty;

    public string Type => Element.GetProperty("type").GetString()!;
}

/// <summary>A compiled ARM template (bicep build output), flattened for assertions.</summary>
public sealed partial class ArmTemplate
{
    private readonly JsonDocument _document;

    private ArmTemplate(string text)
    {
        Text = text;
        _document = JsonDocument.Parse(text);
        var resources = new List<ArmResource>();
        var outputs = new List<ArmOutput>();
        Collect(new ArmScope(_document.RootElement, null), resources, outputs);
        Resources = resources;
        Outputs = outputs;
    }

    public string Text { get; }

    public JsonElement Root => _document.RootElement;

    /// <summary>Every resource, including existing references and resources inside modules.</summary>
    public IReadOnlyList<ArmResource> Resources { get; }

    /// <summary>Every output of main and of every module.</summary>
    public IReadOnlyList<ArmOutput> Outputs { get; }

    public IReadOnlyList<ArmOutput> MainOutputs => Outputs.Where(o => o.Scope.Deployment is null).ToList();

    public static ArmTemplate Load(string path) => new(File.ReadAllText(path));

    /// <summary>Deployed (non-existing) resources of a type.</summary>
    public IReadOnlyList<ArmResource> OfType(string type) =>
        Resources.Where(r => !r.IsExisting && string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase)).ToList();

    public ArmResource Single(string type)
    {
        var matches = OfType(type);
        Assert.True(matches.Count == 1, $"expected exactly one {type}, found {matches.Count}");
        return matches[0];
    }

    public ArmResource Module(string symbol) =>
        Resources.Single(r => r.Scope.Deployment is null && r.Symbol == symbol && r.Type == "Microsoft.Resources/deployments");

    /// <summary>The main template's parameter declaration.</summary>
    public JsonElement Parameter(string name) => Root.GetProperty("parameters").GetProperty(name);

    /// <summary>
    /// Follows simple references to a literal: [parameters('x')] through the enclosing module's parameter values
    /// (up to main's defaultValue), and [variables('x')] / [variables('x').y].
    /// Anything else (a real expression) is returned as is.
    /// </summary>
    public static JsonElement Resolve(JsonElement value, ArmScope scope)
    {
        for (var depth = 0; depth < 32 && value.ValueKind == JsonValueKind.String; depth++)
        {
            var s = value.GetString()!;
            var p = ParameterRef().Match(s);
            if (p.Success)
            {
                var name = p.Groups[1].Value;
                if (scope.Deployment is { } d
                    && d.Properties.TryGetProperty("parameters", out var passed)
                    && passed.TryGetProperty(name, out var passedValue)
                    && passedValue.TryGetProperty("value", out var v))
                {
                    value = v;
                    scope = d.Scope;
                    continue;
                }

                if (scope.Template.GetProperty("parameters").TryGetProperty(name, out var decl)
                    && decl.TryGetProperty("defaultValue", out var def))
                {
                    value = def;
                    continue;
                }

                return value;
            }

            var vr = VariableRef().Match(s);
            if (vr.Success && scope.Template.TryGetProperty("variables", out var vars)
                && vars.TryGetProperty(vr.Groups[1].Value, out var variable))
            {
                value = variable;
                if (vr.Groups[2].Success)
                {
                    value = value.GetProperty(vr.Groups[2].Value);
                }

                continue;
            }

            return value;
        }

        return value;
    }

    /// <summary>The value a module deployment passes for one of its parameters (unresolved).</summary>
    public static JsonElement ModuleParameter(ArmResource deployment, string name) =>
        deployment.Properties.GetProperty("parameters").GetProperty(name).GetProperty("value");

    private static void Collect(ArmScope scope, List<ArmResource> resources, List<ArmOutput> outputs)
    {
        if (scope.Template.TryGetProperty("outputs", out var outs))
        {
            foreach (var o in outs.EnumerateObject())
            {
                outputs.Add(new ArmOutput(o.Name, o.Value, scope));
            }
        }

        if (!scope.Template.TryGetProperty("resources", out var res))
        {
            return;
        }

        IEnumerable<(string Symbol, JsonElement Element)> items = res.ValueKind == JsonValueKind.Object
            ? res.EnumerateObject().Select(p => (p.Name, p.Value))
            : res.EnumerateArray().Select(e => (e.GetProperty("name").ToString(), e));

        foreach (var (symbol, element) in items)
        {
            AddResource(symbol, element, scope, resources, outputs);
        }
    }

    private static void AddResource(string symbol, JsonElement element, ArmScope scope, List<ArmResource> resources, List<ArmOutput> outputs)
    {
        var resource = new ArmResource(symbol, element, scope);
        resources.Add(resource);

        // Child resources declared inline (non-symbolic templates).
        if (element.TryGetProperty("resources", out var children) && children.ValueKind == JsonValueKind.Array)
        {
            foreach (var child in children.EnumerateArray())
            {
                AddResource(child.GetProperty("name").ToString(), child, scope, resources, outputs);
            }
        }

        if (resource.Type == "Microsoft.Resources/deployments"
            && element.TryGetProperty("properties", out var props)
            && props.TryGetProperty("template", out var nested))
        {
            Collect(new ArmScope(nested, resource), resources, outputs);
        }
    }

    [GeneratedRegex(@"^\[parameters\('([^']+)'\)\]$")]
    private static partial Regex ParameterRef();

    [GeneratedRegex(@"^\[variables\('([^']+)'\)(?:\.([A-Za-z0-9_]+))?\]$")]
    private static partial Regex VariableRef();
}

/// <summary>Helpers for ARM expressions such as createObject('Name', value, ...).</summary>
public static class ArmExpression
{
    /// <summary>
    /// In an expression like [union(createObject('A', x, 'B', 'y'), ...)], returns the argument text that follows
    /// the key 'name' (for example "'y'"), or null when the key is absent.
    /// </summary>
    public static string? ValueAfterKey(string expression, string key)
    {
        var marker = $"'{key}', ";
        var start = expression.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        start += marker.Length;
        var depth = 0;
        var inString = false;
        for (var i = start; i < expression.Length; i++)
        {
            var c = expression[i];
            if (inString)
            {
                if (c == '\'')
                {
                    if (i + 1 < expression.Length && expression[i + 1] == '\'')
                    {
                        i++;
                    }
                    else
                    {
                        inString = false;
                    }
                }

                continue;
            }

            switch (c)
            {
                case '\'':
                    inString = true;
                    break;
                case '(':
                case '[':
                    depth++;
                    break;
                case ')':
                case ']':
                    if (depth == 0)
                    {
                        return expression[start..i].Trim();
                    }

                    depth--;
                    break;
                case ',' when depth == 0:
                    return expression[start..i].Trim();
            }
        }

        return expression[start..].Trim();
    }
}
