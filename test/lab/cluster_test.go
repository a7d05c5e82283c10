package lab_test

// clusterYAML is the suite's cluster: 3 namespaces x 3 pods, spread by the lab over 2 nodes
// except gamma/db, which names node-2; two pods bring their own IPs, outside the nodes' pod CIDRs
// (so the nodes need /32 routes for them); every pod declares 80 and 81 over TCP and UDP.
var clusterYAML = `apiVersion: v1
kind: Namespace
metadata:
  name: alpha
  labels:
    team: alpha
---
apiVersion: v1
kind: Namespace
metadata:
  name: beta
  labels:
    team: beta
---
apiVersion: v1
kind: Namespace
metadata:
  name: gamma
  labels:
    team: gamma
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: frontend
  namespace: alpha
` + clusterPod("alpha", "web", "  serviceAccountName: frontend\n", "status:\n  podIP: 198.18.200.10\n") +
	clusterPod("alpha", "api", "", "") + clusterPod("alpha", "db", "", "") +
	clusterPod("beta", "web", "", "status:\n  podIP: 198.19.3.4\n") +
	clusterPod("beta", "api", "", "") + clusterPod("beta", "db", "", "") +
	clusterPod("gamma", "web", "", "") + clusterPod("gamma", "api", "", "") +
	clusterPod("gamma", "db", "  nodeName: node-2\n", "") + `---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: alpha
spec:
  selector:
    app: web
  ports:
  - {name: http, port: 8080, targetPort: http}
---
# The three kinds of policy, each selecting no pod: the lab creates them, the matrix stays open.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: none
  namespace: alpha
spec:
  podSelector:
    matchLabels:
      app: nothing
  policyTypes: [Ingress]
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: none
  namespace: beta
spec:
  selector: app == 'nothing'
  types: [Ingress]
  ingress:
  - action: Deny
---
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata:
  name: none
spec:
  selector: app == 'nothing'
  types: [Egress]
  egress:
  - action: Deny
`

// clusterPod is one pod of clusterYAML, named after its app label, declaring 80 and 81 over TCP and
// UDP; spec holds extra spec lines (before the containers), status a status block.
func clusterPod(namespace, app, spec, status string) string {
	return `---
apiVersion: v1
kind: Pod
metadata:
  name: ` + app + `
  namespace: ` + namespace + `
  labels:
    app: ` + app + `
spec:
` + spec + `  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
` + status
}
