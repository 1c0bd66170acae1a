package cli

import (
	"fmt"

	"github.com/zkd/zkd/client"
	"github.com/zkd/zkd/internal/sasl"
)

// kerberosOption returns the WithSASL option for a JAAS section with a
// Krb5LoginModule.
func (p *clientProps) kerberosOption(path string, sec *sasl.JAASSection, krb sasl.Krb5Options) (client.Option, error) {
	return nil, fmt.Errorf("%s:%d: section %s: Kerberos (%s) is not available in zkd cli yet", path, sec.Line, sec.Name, sasl.Krb5LoginModule)
}
