package chartrun

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

func TestContainerUser(t *testing.T) {
	img := Image{UID: 65532, GID: 65532}
	tests := []struct {
		name     string
		pod      *corev1.PodSecurityContext
		c        *corev1.SecurityContext
		uid, gid uint32
		err      string
	}{
		{name: "the image's user", pod: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, uid: 65532, gid: 65532},
		{name: "the container's user wins", pod: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, c: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), RunAsGroup: ptr.To[int64](0)}, uid: 0, gid: 0},
		{name: "the pod's user and group", pod: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](2000)}, uid: 1000, gid: 2000},
		{name: "runAsNonRoot refuses root", pod: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, c: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0)}, err: "runAsNonRoot"},
		{name: "the container's runAsNonRoot wins", pod: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, c: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0), RunAsNonRoot: ptr.To(false)}, uid: 0, gid: 65532},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid, gid, err := containerUser(tt.pod, tt.c, img)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want one saying %s", err, tt.err)
				}
				return
			}
			if err != nil || uid != tt.uid || gid != tt.gid {
				t.Errorf("got %d:%d, %v; want %d:%d", uid, gid, err, tt.uid, tt.gid)
			}
		})
	}
}

func TestContainerEnvAndArgv(t *testing.T) {
	c := corev1.Container{
		Name:    "manager",
		Command: []string{"/palisade-controller"},
		Args:    []string{"--node-name=$(NODE_NAME)", "--webhook-cert-dir=/tmp/certs/"},
		Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "x"},
			{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
			{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
			{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory"}}},
			{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}},
	}
	env, err := containerEnv(c, "palisade-system", "palisade-controller-0", "node-a")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"PLAIN": "x", "NODE_NAME": "node-a", "POD_NAMESPACE": "palisade-system", "GOMEMLIMIT": "536870912", "MEM_MI": "512"}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	argv := containerArgv(c, env, "/lab/images/palisade-controller")
	argv = mountedPaths(argv, []*secretVolume{{mountPath: "/tmp/certs", dir: "/lab/pods/p/volumes/cert"}})
	if got := strings.Join(argv, " "); got != "/lab/images/palisade-controller --node-name=node-a --webhook-cert-dir=/lab/pods/p/volumes/cert" {
		t.Errorf("argv %s", got)
	}

	c.Env = append(c.Env, corev1.EnvVar{Name: "SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{Key: "k"}}})
	if _, err := containerEnv(c, "ns", "p", "n"); err == nil || !strings.Contains(err.Error(), "SECRET") {
		t.Errorf("an env source the lab does not fill: err %v", err)
	}
}
