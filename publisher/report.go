package publisher

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/provenant/provenant/provenance"
)

// WriteText writes the human report of a result: the step lines (unless
// they were already streamed through Options.Progress) and then the
// package URL, the log entry URL and the package page.
func WriteText(w io.Writer, r *Result, withSteps bool) error {
	var b strings.Builder
	if withSteps {
		for _, s := range r.Steps {
			b.WriteString(StepLine(s) + "\n")
		}
	}
	if r.DryRun && r.Package != nil {
		fmt.Fprintf(&b, "dry run: %s@%s was not published; no certificate was requested and no log entry written\n", r.Package.Name, r.Package.Version)
	}
	if p := r.Published; p != nil {
		fmt.Fprintf(&b, "+ %s@%s\n", r.Package.Name, r.Package.Version)
		fmt.Fprintf(&b, "package:   %s\n", p.PackageURL)
	}
	if pr := r.Provenance; pr != nil && pr.EntryURL != "" && !r.DryRun {
		fmt.Fprintf(&b, "log entry: %s\n", pr.EntryURL)
	}
	if p := r.Published; p != nil && p.PageURL != "" {
		fmt.Fprintf(&b, "page:      %s\n", p.PageURL)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// StepLine renders one step as a line of human output.
func StepLine(s Step) string {
	mark := "ok  "
	if !s.OK {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %-17s %s", mark, s.Name, firstLine(s.Detail))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Markdown renders the GitHub Actions job summary for a result: package,
// version, integrity, source commit, workflow, log entry, and the failure
// when there was one.
func Markdown(r *Result, failure error) string {
	var b strings.Builder
	title := "Published"
	switch {
	case failure != nil:
		title = "Publish failed"
	case r.DryRun:
		title = "Dry run"
	}
	b.WriteString("### " + title)
	if r.Package != nil {
		fmt.Fprintf(&b, ": `%s@%s`", r.Package.Name, r.Package.Version)
	}
	b.WriteString("\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, strings.ReplaceAll(v, "|", `\|`))
		}
	}
	if p := r.Package; p != nil {
		row("Package", "`"+p.Name+"`")
		row("Version", "`"+p.Version+"`")
		row("Integrity", "`"+p.Integrity+"`")
		row("Size", fmt.Sprintf("%d bytes, %d files", p.Size, p.FileCount))
	}
	row("Registry", r.Registry)
	row("Tag", r.Tag)
	if r.Statement != nil {
		if s, err := provenance.ParseStatement(r.Statement); err == nil {
			row("Source commit", "`"+s.SourceCommit+"` ("+s.SourceRepositoryURI+")")
			row("Workflow", "`"+s.WorkflowPath+"`")
			row("Build", s.RunInvocationURI)
		}
	}
	if pr := r.Provenance; pr != nil {
		row("Certificate", "`"+pr.CertificateSAN+"`")
		row("Issuer", pr.CertificateIssuer)
		if pr.EntryURL != "" {
			row("Log entry", fmt.Sprintf("[%d](%s)", pr.LogIndex, pr.EntryURL))
		}
	}
	if p := r.Published; p != nil {
		row("Package URL", p.PackageURL)
		row("Page", p.PageURL)
	}
	if failure != nil {
		var se *StepError
		step := ""
		if errors.As(failure, &se) {
			step = se.Step
		}
		fmt.Fprintf(&b, "\n**Failed at %s:**\n\n```\n%s\n```\n", step, failure.Error())
	}
	return b.String()
}

// Annotation renders a GitHub Actions "::error::" workflow command for a
// failure, escaped as the runner requires.
func Annotation(failure error) string {
	title := "provenant publish"
	var se *StepError
	if errors.As(failure, &se) {
		title += ": " + se.Step
	}
	esc := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	escProp := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	return "::error title=" + escProp.Replace(title) + "::" + esc.Replace(failure.Error())
}
