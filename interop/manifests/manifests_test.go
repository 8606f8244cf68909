package manifests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	"sigs.k8s.io/yaml"
)

// blocks returns the fenced code blocks of lang in docs/scale-out.md.
func blocks(t *testing.T, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "scale-out.md"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out
}

// kindOf reads a manifest's apiVersion and kind.
func kindOf(t *testing.T, doc string) (string, string) {
	t.Helper()
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		t.Fatal(err)
	}
	return tm.APIVersion, tm.Kind
}

// Every YAML manifest of the page decodes strictly (unknown or duplicate
// fields, wrong types fail) into its Kubernetes type, and says what the
// page promises: an Indexed Job running `sluice task` that fails whole at
// exit 4 or 5, and a Deployment of `sluice worker`.
func TestKubernetesManifests(t *testing.T) {
	docs := blocks(t, "yaml")
	var job, deploy int
	for _, doc := range docs {
		switch av, kind := kindOf(t, doc); {
		case av == "batch/v1" && kind == "Job":
			job++
			var j batchv1.Job
			if err := yaml.UnmarshalStrict([]byte(doc), &j); err != nil {
				t.Fatalf("Job: %v", err)
			}
			s := j.Spec
			if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || *s.Completions < 1 {
				t.Errorf("not an Indexed Job with completions: %+v", s)
			}
			if s.BackoffLimitPerIndex == nil || s.MaxFailedIndexes == nil || *s.MaxFailedIndexes != 0 {
				t.Error("want retries per index and no failed index tolerated")
			}
			c := s.Template.Spec.Containers
			if len(c) != 1 || len(c[0].Args) < 3 || c[0].Args[0] != "task" || c[0].Args[1] != "-plan" || !strings.HasSuffix(c[0].Args[2], "/plan.sluiceplan") {
				t.Errorf("container args %v: want task -plan <…/plan.sluiceplan>", c)
			}
			if slices.Contains(c[0].Args, "-index") {
				t.Error("the index comes from JOB_COMPLETION_INDEX, not a flag")
			}
			if s.Template.Spec.RestartPolicy != "Never" {
				t.Errorf("restartPolicy %q: a pod failure policy needs Never", s.Template.Spec.RestartPolicy)
			}
			p := s.PodFailurePolicy
			if p == nil || len(p.Rules) == 0 || p.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob || p.Rules[0].OnExitCodes == nil ||
				!slices.Equal(p.Rules[0].OnExitCodes.Values, []int32{4, 5}) || p.Rules[0].OnExitCodes.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn {
				t.Errorf("pod failure policy %+v: want FailJob on exit codes 4 and 5", p)
			}
		case av == "apps/v1" && kind == "Deployment":
			deploy++
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict([]byte(doc), &d); err != nil {
				t.Fatalf("Deployment: %v", err)
			}
			c := d.Spec.Template.Spec.Containers
			if len(c) != 1 || len(c[0].Args) == 0 || c[0].Args[0] != "worker" {
				t.Errorf("container args %v: want worker", c)
			}
			env := map[string]bool{}
			for _, e := range c[0].Env {
				env[e.Name] = true
			}
			if !env["TEMPORAL_ADDRESS"] || !env["TEMPORAL_NAMESPACE"] {
				t.Errorf("worker env %v: want TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE", c[0].Env)
			}
		default:
			t.Errorf("unexpected manifest %s %s", av, kind)
		}
	}
	if job != 1 || deploy != 1 {
		t.Fatalf("%d Jobs and %d Deployments in docs/scale-out.md, want one each", job, deploy)
	}
}

// Strict decoding is what catches mistakes: a misspelt field, a repeated
// one and a wrong type are each refused.
func TestStrictDecodingRejects(t *testing.T) {
	docs := blocks(t, "yaml")
	var job string
	for _, d := range docs {
		if _, k := kindOf(t, d); k == "Job" {
			job = d
		}
	}
	for name, bad := range map[string]string{
		"misspelt":   strings.Replace(job, "completionMode:", "completionMod:", 1),
		"repeated":   strings.Replace(job, "  parallelism: 8\n", "  parallelism: 8\n  parallelism: 9\n", 1),
		"wrong type": strings.Replace(job, "parallelism: 8", "parallelism: many", 1),
	} {
		if bad == job {
			t.Fatalf("%s: the edit did not apply", name)
		}
		var j batchv1.Job
		if err := yaml.UnmarshalStrict([]byte(bad), &j); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The AWS Batch job definition is JSON with the fields the page relies
// on: sluice task with the plan as a parameter (the index comes from
// AWS_BATCH_JOB_ARRAY_INDEX), and no retry on exit 4 or 5.
func TestAWSBatchJobDefinition(t *testing.T) {
	docs := blocks(t, "json")
	if len(docs) != 1 {
		t.Fatalf("%d JSON blocks, want the job definition", len(docs))
	}
	var def struct {
		JobDefinitionName string            `json:"jobDefinitionName"`
		Type              string            `json:"type"`
		Parameters        map[string]string `json:"parameters"`
		RetryStrategy     struct {
			Attempts       int `json:"attempts"`
			EvaluateOnExit []struct {
				OnExitCode string `json:"onExitCode"`
				OnReason   string `json:"onReason"`
				Action     string `json:"action"`
			} `json:"evaluateOnExit"`
		} `json:"retryStrategy"`
		ContainerProperties struct {
			Image                string   `json:"image"`
			Command              []string `json:"command"`
			JobRoleArn           string   `json:"jobRoleArn"`
			ResourceRequirements []struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"resourceRequirements"`
		} `json:"containerProperties"`
	}
	dec := json.NewDecoder(strings.NewReader(docs[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&def); err != nil {
		t.Fatal(err)
	}
	cmd := def.ContainerProperties.Command
	if def.Type != "container" || len(cmd) < 3 || cmd[0] != "task" || cmd[1] != "-plan" || cmd[2] != "Ref::plan" {
		t.Errorf("command %v", cmd)
	}
	if _, ok := def.Parameters["plan"]; !ok {
		t.Error("no plan parameter")
	}
	exits := map[string]string{}
	for _, e := range def.RetryStrategy.EvaluateOnExit {
		exits[e.OnExitCode] = e.Action
	}
	if exits["4"] != "EXIT" || exits["5"] != "EXIT" {
		t.Errorf("retry strategy %+v: exit 4 and 5 must not be retried", def.RetryStrategy)
	}
}
