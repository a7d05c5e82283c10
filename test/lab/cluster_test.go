package lab_test

// clusterYAML is the suite's cluster: 3 namespaces x 3 pods, spread by the lab over 2 nodes
// except gamma/db, which names node-2; two pods bring their own IPs, outside the nodes' pod CIDRs
// (so the nodes need /32 routes for them); every pod declares 80 and 81 over TCP and UDP.
const clusterYAML = `apiVersion: v1
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
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: alpha
  labels:
    app: web
spec:
  serviceAccountName: frontend
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
status:
  podIP: 198.18.200.10
---
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: alpha
  labels:
    app: api
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: alpha
  labels:
    app: db
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: beta
  labels:
    app: web
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
status:
  podIP: 198.19.3.4
---
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: beta
  labels:
    app: api
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: beta
  labels:
    app: db
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: gamma
  labels:
    app: web
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: gamma
  labels:
    app: api
spec:
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: gamma
  labels:
    app: db
spec:
  nodeName: node-2
  containers:
  - name: main
    image: registry.invalid/echo
    ports:
    - {name: http, containerPort: 80}
    - {name: alt, containerPort: 81}
    - {name: http-udp, containerPort: 80, protocol: UDP}
    - {name: alt-udp, containerPort: 81, protocol: UDP}
---
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
