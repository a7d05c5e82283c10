package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"
)

// maxReviewSize bounds the AdmissionReview a webhook reads, as controller-runtime's handler does:
// the API server caps a request body at 3 MiB, and the review carries the object twice at most.
const maxReviewSize = 7 << 20

// reviewGroupVersion is the only AdmissionReview version the webhook configurations ask for
// (admissionReviewVersions=v1).
var reviewGroupVersion = admissionv1.SchemeGroupVersion.String()

// validatingReview serves a validating webhook for the objects of one Go type: it decodes the
// AdmissionReview and the objects in it in one pass, straight into that type, and calls the typed
// admission.Validator. controller-runtime's generic handler (admission.WithValidator) reads the
// review with the object kept as raw bytes, then decodes those again, sniffing the kind of each
// first, so every object is scanned four times; under load that decoding was more than half of the
// handler's CPU per call (docs/benchmarks.md). It answers what admission.WithValidator
// answers for the same request; review_test.go compares the two on every kind of request.
//
// It is registered on the manager's webhook server like any handler, so controller-runtime's
// webhook metrics still count it.
type validatingReview[T any, PT interface {
	*T
	runtime.Object
}] struct {
	validator admission.Validator[PT]
	// kind is what the objects must be, when they say what they are.
	kind schema.GroupVersionKind
	// finish, when set, rewrites every response before it is sent, errors included (the Kubernetes
	// NetworkPolicy webhook never denies).
	finish func(admission.Response) admission.Response
	log    logr.Logger
}

// newValidatingReview returns the handler of v for objects of PT's kind in scheme, logging through
// log.
func newValidatingReview[T any, PT interface {
	*T
	runtime.Object
}](scheme *runtime.Scheme, v admission.Validator[PT], log logr.Logger) (*validatingReview[T, PT], error) {
	kind, err := apiutil.GVKForObject(PT(new(T)), scheme)
	if err != nil {
		return nil, fmt.Errorf("validating webhook for %T: %w", PT(new(T)), err)
	}
	return &validatingReview[T, PT]{validator: v, kind: kind, log: log}, nil
}

// review is an AdmissionReview whose objects are decoded as PT.
type review[PT any] struct {
	metav1.TypeMeta `json:",inline"`
	Request         *reviewRequest[PT] `json:"request,omitempty"`
}

// reviewRequest holds what the validators need of an admission.k8s.io/v1 AdmissionRequest; the
// fields it leaves out are skipped while decoding.
type reviewRequest[PT any] struct {
	UID       types.UID             `json:"uid"`
	Name      string                `json:"name,omitempty"`
	Namespace string                `json:"namespace,omitempty"`
	Operation admissionv1.Operation `json:"operation"`
	Object    PT                    `json:"object,omitempty"`
	OldObject PT                    `json:"oldObject,omitempty"`
}

func (h *validatingReview[T, PT]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, uid := h.serve(r)
	if h.finish != nil {
		resp = h.finish(resp)
	}
	resp.UID = uid
	w.Header().Set("Content-Type", "application/json")
	out := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: reviewGroupVersion, Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	}
	if err := json.NewEncoder(w).Encode(out); err != nil {
		// The response is a plain struct, so this is the connection failing: nothing more can be
		// sent on it, and the API server applies the webhook's failurePolicy.
		h.log.Error(err, "writing the admission response", "uid", uid)
	}
}

// serve reads and answers one review; the UID is empty when the review could not be read.
func (h *validatingReview[T, PT]) serve(r *http.Request) (admission.Response, types.UID) {
	body, code, err := readReview(r)
	if err != nil {
		h.log.Error(err, "reading the admission request")
		return admission.Errored(code, err), ""
	}
	var rev review[PT]
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &rev); err != nil {
		// The review may be sound and only its object not decodable as PT: answer with the
		// request's UID then, as the API server matches responses to requests by it.
		uid := reviewUID(body)
		h.log.Error(err, "decoding the admission request", "uid", uid)
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("decoding the AdmissionReview: %w", err)), uid
	}
	if rev.APIVersion != reviewGroupVersion || rev.Kind != "AdmissionReview" || rev.Request == nil {
		err := fmt.Errorf("want an %s AdmissionReview with a request, got apiVersion %q, kind %q", reviewGroupVersion, rev.APIVersion, rev.Kind)
		var uid types.UID
		if rev.Request != nil {
			uid = rev.Request.UID
		}
		return admission.Errored(http.StatusBadRequest, err), uid
	}
	req := rev.Request
	for _, obj := range []PT{req.Object, req.OldObject} {
		// The API server sends the version the webhook registered for; another kind is a request
		// for some other webhook, which the generic decoder refuses too.
		if obj != nil {
			if gvk := obj.GetObjectKind().GroupVersionKind(); !gvk.Empty() && gvk != h.kind {
				return admission.Errored(http.StatusBadRequest, fmt.Errorf("want a %s, got a %s", h.kind, gvk)), req.UID
			}
		}
	}
	log := h.log.WithValues("uid", req.UID, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	return h.handle(logr.NewContext(r.Context(), log), req), req.UID
}

// handle calls the validator for the request's operation, as admission.WithValidator does: CONNECT
// is allowed unchecked, DELETE validates the old object, anything else is a bad request. A panic is
// a server error for this request, not a dropped connection, which the API server would report
// without a cause.
func (h *validatingReview[T, PT]) handle(ctx context.Context, req *reviewRequest[PT]) (resp admission.Response) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("panic: %v [recovered]", p)
			logr.FromContextOrDiscard(ctx).Error(err, "validating")
			resp = admission.Errored(http.StatusInternalServerError, err)
		}
	}()
	var (
		warnings admission.Warnings
		err      error
	)
	switch req.Operation {
	case admissionv1.Connect:
		return admission.Allowed("")
	case admissionv1.Create:
		if req.Object == nil {
			return admission.Errored(http.StatusBadRequest, errors.New("the request has no object"))
		}
		warnings, err = h.validator.ValidateCreate(ctx, req.Object)
	case admissionv1.Update:
		if req.Object == nil || req.OldObject == nil {
			return admission.Errored(http.StatusBadRequest, errors.New("an update needs the object and the old object"))
		}
		warnings, err = h.validator.ValidateUpdate(ctx, req.OldObject, req.Object)
	case admissionv1.Delete:
		if req.OldObject == nil {
			return admission.Errored(http.StatusBadRequest, errors.New("a delete needs the old object"))
		}
		warnings, err = h.validator.ValidateDelete(ctx, req.OldObject)
	default:
		return admission.Errored(http.StatusBadRequest, fmt.Errorf("unknown operation %q", req.Operation))
	}
	if err != nil {
		var status apierrors.APIStatus
		if errors.As(err, &status) {
			s := status.Status()
			return admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Result: &s}}.WithWarnings(warnings...)
		}
		return admission.Denied(err.Error()).WithWarnings(warnings...)
	}
	return admission.Allowed("").WithWarnings(warnings...)
}

// readReview returns the request body of an admission call: JSON, at most maxReviewSize bytes. It
// allocates only for what has arrived, never for the length the request announces: a client that
// announces megabytes and sends nothing must cost a stalled read, not the megabytes (the server's
// read deadline, webhooks/serving, ends such a read).
func readReview(r *http.Request) ([]byte, int32, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, http.StatusBadRequest, errors.New("request body is empty")
	}
	defer func() { _ = r.Body.Close() }()
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		return nil, http.StatusBadRequest, fmt.Errorf("contentType=%s, expected application/json", ct)
	}
	if r.ContentLength > maxReviewSize {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewSize)
	}
	limited := &io.LimitedReader{R: r.Body, N: maxReviewSize + 1}
	body, err := io.ReadAll(limited)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err)
	}
	if int64(len(body)) > maxReviewSize {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewSize)
	}
	return body, 0, nil
}

// reviewUID returns the request UID of a review whose objects did not decode; empty when even that
// cannot be read.
func reviewUID(body []byte) types.UID {
	var rev struct {
		Request *struct {
			UID types.UID `json:"uid"`
		} `json:"request"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &rev); err != nil || rev.Request == nil {
		return ""
	}
	return rev.Request.UID
}
