# Copyright: mlops.stack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sphinx configuration of the mlops.stack docs site (tools/docs builds it; antsibull-docs writes the pages).

Made from what `antsibull-docs sphinx-init` writes, with one change: the build machines reach no
documentation site, so the one intersphinx inventory is a local file tools/docs writes with the labels
the generated pages link to in the Ansible documentation (ansible_devel.inv beside the pages).
"""

project = "mlops.stack"
copyright = "mlops.stack maintainers"

title = "mlops.stack collection documentation"
html_short_title = "mlops.stack"

extensions = ["sphinx.ext.intersphinx", "sphinx_antsibull_ext"]

pygments_style = "ansible"
highlight_language = "YAML+Jinja"

html_theme = "sphinx_ansible_theme"
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False

intersphinx_mapping = {
    "ansible_devel": ("https://docs.ansible.com/projects/ansible/devel/", "../ansible_devel.inv"),
}

default_role = "any"
nitpicky = True
