from .svn_head import SVNHead

__all__ = ['SVNHead']
