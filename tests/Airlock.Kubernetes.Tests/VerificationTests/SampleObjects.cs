using System.Text.Json.Nodes;

namespace Airlock.Kubernetes.Tests.VerificationTests;

/// <summary>Handcrafted valid objects; each call returns a fresh copy for a test to break one thing in.</summary>
internal static class SampleObjects
{
    /// <summary>A Pod that passes the 1.35 schema and Pod Security <c>restricted</c>: an agent and a native-sidecar proxy.</summary>
    internal static JsonObject RestrictedPod() => Parse("""
        {
          "apiVersion": "v1",
          "kind": "Pod",
          "metadata": {
            "name": "airlock-s-1a2b3c",
            "namespace": "agents",
            "labels": { "app.kubernetes.io/managed-by": "airlock", "airlock.dev/session": "s-1a2b3c" },
            "annotations": { "airlock.dev/policy-hash": "abc" }
          },
          "spec": {
            "automountServiceAccountToken": false,
            "restartPolicy": "Never",
            "activeDeadlineSeconds": 3600,
            "securityContext": {
              "runAsNonRoot": true,
              "runAsUser": 10001,
              "runAsGroup": 10001,
              "fsGroup": 10001,
              "fsGroupChangePolicy": "OnRootMismatch",
              "seccompProfile": { "type": "RuntimeDefault" }
            },
            "initContainers": [
              {
                "name": "proxy",
                "image": "ghcr.io/airlock/proxy:1.0",
                "restartPolicy": "Always",
                "ports": [ { "name": "proxy", "containerPort": 3128, "protocol": "TCP" } ],
                "securityContext": {
                  "allowPrivilegeEscalation": false,
                  "readOnlyRootFilesystem": true,
                  "runAsUser": 10002,
                  "capabilities": { "drop": [ "ALL" ] }
                },
                "resources": { "requests": { "cpu": "50m", "memory": "64Mi" }, "limits": { "memory": "128Mi" } }
              }
            ],
            "containers": [
              {
                "name": "agent",
                "image": "python:3.13-slim",
                "imagePullPolicy": "IfNotPresent",
                "command": [ "/usr/bin/tini", "--", "sleep", "infinity" ],
                "env": [ { "name": "SSL_CERT_FILE", "value": "/etc/airlock/ca.crt" } ],
                "securityContext": {
                  "allowPrivilegeEscalation": false,
                  "readOnlyRootFilesystem": true,
                  "capabilities": { "drop": [ "ALL" ] }
                },
                "resources": { "requests": { "cpu": "250m", "memory": "512Mi", "ephemeral-storage": "1Gi" }, "limits": { "cpu": 1, "memory": "1Gi" } },
                "volumeMounts": [
                  { "name": "workspace", "mountPath": "/workspace" },
                  { "name": "ca", "mountPath": "/etc/airlock", "readOnly": true }
                ]
              }
            ],
            "volumes": [
              { "name": "workspace", "emptyDir": { "sizeLimit": "2Gi" } },
              { "name": "ca", "secret": { "secretName": "airlock-s-1a2b3c-ca", "defaultMode": 292 } }
            ]
          }
        }
        """);

    /// <summary>A Secret with base64 data.</summary>
    internal static JsonObject Secret() => Parse("""
        {
          "apiVersion": "v1",
          "kind": "Secret",
          "metadata": { "name": "airlock-s-1a2b3c-ca", "namespace": "agents" },
          "type": "Opaque",
          "data": { "ca.crt": "LS0tLS1CRUdJTg==" }
        }
        """);

    /// <summary>A headless Service in front of a proxy pod.</summary>
    internal static JsonObject Service() => Parse("""
        {
          "apiVersion": "v1",
          "kind": "Service",
          "metadata": { "name": "airlock-s-1a2b3c-proxy", "namespace": "agents" },
          "spec": {
            "clusterIP": "None",
            "selector": { "airlock.dev/session": "s-1a2b3c" },
            "ports": [ { "name": "proxy", "port": 3128, "targetPort": "proxy", "protocol": "TCP" } ]
          }
        }
        """);

    /// <summary>A NetworkPolicy letting the agent reach only its proxy.</summary>
    internal static JsonObject NetworkPolicy() => Parse("""
        {
          "apiVersion": "networking.k8s.io/v1",
          "kind": "NetworkPolicy",
          "metadata": { "name": "airlock-s-1a2b3c-agent", "namespace": "agents" },
          "spec": {
            "podSelector": { "matchLabels": { "airlock.dev/session": "s-1a2b3c" } },
            "policyTypes": [ "Ingress", "Egress" ],
            "egress": [
              {
                "to": [ { "podSelector": { "matchLabels": { "airlock.dev/role": "proxy" } } } ],
                "ports": [ { "protocol": "TCP", "port": 3128 } ]
              },
              {
                "to": [ { "ipBlock": { "cidr": "0.0.0.0/0", "except": [ "10.0.0.0/8" ] } } ],
                "ports": [ { "protocol": "TCP", "port": 32000, "endPort": 32768 } ]
              }
            ]
          }
        }
        """);

    /// <summary>A Deployment of one proxy replica.</summary>
    internal static JsonObject Deployment() => Parse("""
        {
          "apiVersion": "apps/v1",
          "kind": "Deployment",
          "metadata": { "name": "airlock-s-1a2b3c-proxy", "namespace": "agents" },
          "spec": {
            "replicas": 1,
            "strategy": { "type": "Recreate" },
            "selector": { "matchLabels": { "airlock.dev/session": "s-1a2b3c" } },
            "template": {
              "metadata": { "labels": { "airlock.dev/session": "s-1a2b3c" } },
              "spec": {
                "securityContext": { "runAsNonRoot": true, "seccompProfile": { "type": "RuntimeDefault" } },
                "containers": [
                  {
                    "name": "proxy",
                    "image": "ghcr.io/airlock/proxy:1.0",
                    "securityContext": { "allowPrivilegeEscalation": false, "capabilities": { "drop": [ "ALL" ] } }
                  }
                ]
              }
            }
          }
        }
        """);

    /// <summary>An agent-sandbox <c>Sandbox</c> with a restricted pod template.</summary>
    internal static JsonObject Sandbox()
    {
        var podSpec = RestrictedPod()["spec"]!.DeepClone();
        podSpec.AsObject().Remove("activeDeadlineSeconds");
        podSpec.AsObject().Remove("restartPolicy");
        var sandbox = Parse("""
            {
              "apiVersion": "agents.x-k8s.io/v1beta1",
              "kind": "Sandbox",
              "metadata": { "name": "airlock-s-1a2b3c", "namespace": "agents", "labels": { "airlock.dev/session": "s-1a2b3c" } },
              "spec": {
                "shutdownTime": "2026-01-01T00:00:00Z",
                "shutdownPolicy": "Delete",
                "podTemplate": {
                  "metadata": { "labels": { "airlock.dev/session": "s-1a2b3c" } }
                }
              }
            }
            """);
        sandbox["spec"]!["podTemplate"]!["spec"] = podSpec;
        return sandbox;
    }

    /// <summary>A <c>SandboxClaim</c> against a warm pool, passing Airlock's session label to the adopted pod.</summary>
    internal static JsonObject SandboxClaim() => Parse("""
        {
          "apiVersion": "extensions.agents.x-k8s.io/v1beta1",
          "kind": "SandboxClaim",
          "metadata": { "name": "airlock-s-1a2b3c", "namespace": "agents" },
          "spec": {
            "warmPoolRef": { "name": "python" },
            "additionalPodMetadata": { "labels": { "airlock.dev/session": "s-1a2b3c" } },
            "lifecycle": { "shutdownPolicy": "Delete", "shutdownTime": "2026-01-01T00:00:00Z" }
          }
        }
        """);

    /// <summary>Parses a JSON object literal.</summary>
    internal static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();
}
