package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/spf13/cobra"

	"github.com/provenant/provenant/provenance"
	"github.com/provenant/provenant/schemas"
)

func init() { subcommands = append(subcommands, newExplainCommand) }

// ExitMismatch is explain's exit code for a statement that contradicts
// its signing certificate.
const ExitMismatch = 3

const explainLong = `Explain an npm provenance document: a bare in-toto statement, a Sigstore
bundle (npm's .sigstore attachment; the statement is its DSSE payload) or a
registry's attestations response. FILE "-" reads standard input.

It prints where and how the package was built: source repository, commit and
ref, workflow file, build summary (run) URL, trigger, runner and builder. For a
bundle with a signing certificate it also prints the certificate's identity and
checks that the statement agrees with the certificate's claims.

explain verifies no signature, certificate chain or log entry; the registry does.

Exit codes:
  0  explained
  1  the file is unreadable or not a provenance document
  2  usage error
  3  the statement contradicts its signing certificate`

func newExplainCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain FILE",
		Short: "explain an npm provenance statement or Sigstore bundle",
		Long:  explainLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := readExplainInput(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			e, err := provenance.Explain(doc)
			if err != nil {
				return err
			}
			sc := checkSchema(e)
			out := cmd.OutOrStdout()
			if asJSON {
				err = writeExplanationJSON(out, e, sc)
			} else {
				err = writeExplanationText(out, e, sc)
			}
			if err != nil {
				return err
			}
			if e.CertificateCheck != nil {
				return &ExitError{Code: ExitMismatch, Err: fmt.Errorf("statement contradicts its signing certificate: %w", e.CertificateCheck)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func readExplainInput(path string, stdin io.Reader) ([]byte, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, provenance.MaxExplainBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > provenance.MaxExplainBytes {
		return nil, fmt.Errorf("%s: more than %d bytes", path, provenance.MaxExplainBytes)
	}
	return b, nil
}

// schemaResult is the statement checked against the JSON Schema of its
// kind, when Provenant ships one.
type schemaResult struct {
	Name    string `json:"name"`
	Valid   bool   `json:"valid"`
	Pointer string `json:"pointer,omitempty"`
	Message string `json:"message,omitempty"`
}

// checkSchema validates the explained statement against the schema for
// npm's current statements of its CI; older forms (npm 9's SLSA v0.2
// GitHub statements) have none and give nil.
func checkSchema(e *provenance.Explanation) *schemaResult {
	var name string
	switch s := e.Summary; {
	case s.CI == provenance.GitHubActions && s.PredicateType == provenance.SLSAV1Type:
		name = schemas.StatementGitHubV1
	case s.CI == provenance.GitLabCI:
		name = schemas.StatementGitLabV01
	default:
		return nil
	}
	r := &schemaResult{Name: name, Valid: true}
	if err := schemas.Validate(name, e.Statement); err != nil {
		r.Valid, r.Message = false, err.Error()
		var se *schemas.Error
		if errors.As(err, &se) {
			r.Pointer, r.Message = se.Pointer, se.Message
		}
	}
	return r
}

// explanationJSON is explain's --json output.
type explanationJSON struct {
	Source          string               `json:"source"`
	BundleMediaType string               `json:"bundleMediaType,omitempty"`
	Summary         *provenance.Summary  `json:"summary"`
	Certificate     *certificate.Summary `json:"certificate,omitempty"`
	CertificateOK   *bool                `json:"certificateMatchesStatement,omitempty"`
	Mismatch        *checkErrorJSON      `json:"mismatch,omitempty"`
	Schema          *schemaResult        `json:"schema,omitempty"`
}

type checkErrorJSON struct {
	Check    string `json:"check"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Error    string `json:"error"`
}

func writeExplanationJSON(w io.Writer, e *provenance.Explanation, sc *schemaResult) error {
	j := explanationJSON{Source: e.Source, BundleMediaType: e.BundleMediaType, Summary: e.Summary, Certificate: e.Certificate, Schema: sc}
	if e.Certificate != nil {
		ok := e.CertificateCheck == nil
		j.CertificateOK = &ok
	}
	if e.CertificateCheck != nil {
		j.Mismatch = &checkErrorJSON{Error: e.CertificateCheck.Error()}
		var ce *provenance.CheckError
		if errors.As(e.CertificateCheck, &ce) {
			j.Mismatch.Check, j.Mismatch.Expected, j.Mismatch.Actual = ce.Check, ce.Expected, ce.Actual
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

func writeExplanationText(w io.Writer, e *provenance.Explanation, sc *schemaResult) error {
	s := e.Summary
	ci := map[provenance.CI]string{provenance.GitHubActions: "GitHub Actions", provenance.GitLabCI: "GitLab CI"}[s.CI]
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Built and signed on %s\n", ci)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	for _, sub := range s.Subjects {
		row("Package", sub.Name)
		row("SHA-512", sub.SHA512)
	}
	row("Source", s.SourceRepositoryURI)
	row("Commit", s.SourceCommit)
	row("Ref", s.SourceRef)
	row("Build file", s.WorkflowPath)
	if s.WorkflowRef != s.SourceRef {
		row("Build file ref", s.WorkflowRef)
	}
	row("Build summary", s.RunInvocationURI)
	row("Trigger", s.TriggerEvent)
	row("Runner", s.RunnerEnvironment)
	row("Builder", s.BuilderID)
	row("Statement", s.StatementType)
	row("Predicate", s.PredicateType)
	row("Build type", s.BuildType)
	row("Read from", e.Source+" "+e.BundleMediaType)
	switch {
	case sc == nil:
	case sc.Valid:
		row("Schema", "conforms to "+sc.Name)
	default:
		row("Schema", fmt.Sprintf("does not conform to %s at %q: %s", sc.Name, sc.Pointer, sc.Message))
	}
	if c := e.Certificate; c != nil {
		fmt.Fprintln(tw, "Signing certificate (claims only; explain verifies no signature)")
		row("Identity", c.SubjectAlternativeName)
		row("OIDC issuer", c.Extensions.Issuer)
		row("Source", c.SourceRepositoryURI)
		row("Commit", c.SourceRepositoryDigest)
		row("Ref", c.SourceRepositoryRef)
		row("Build config", c.BuildConfigURI)
		row("Run", c.RunInvocationURI)
		row("Runner", c.RunnerEnvironment)
		row("Visibility", c.SourceRepositoryVisibilityAtSigning)
		if e.CertificateCheck == nil {
			row("Statement", "agrees with the certificate")
		} else {
			row("Statement", "CONTRADICTS the certificate: "+e.CertificateCheck.Error())
		}
	}
	return tw.Flush()
}
